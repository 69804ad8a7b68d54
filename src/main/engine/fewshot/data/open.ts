import type { FewshotDatasetSpec } from '../../../../shared/fewshot'
import type { FewshotDataset } from './dataset'
import { fashionMnistDataset, idxDataset } from './fashion-mnist'
import { loadFolderDataset } from './folder'

/** The dataset an API call names: Debian's Fashion-MNIST, an idx file pair, or a folder of class sub-folders. */
export async function openFewshotDataset(spec: FewshotDatasetSpec): Promise<FewshotDataset> {
  if (spec.kind === 'fashion-mnist') return fashionMnistDataset()
  if (spec.kind === 'idx') return idxDataset(spec.images, spec.labels)
  return (await loadFolderDataset(spec.dir, { size: [spec.size, spec.size], channels: spec.channels })).dataset
}
