import type { FewshotDatasetSpec } from '../../../../shared/fewshot'
import type { FewshotDataset } from './dataset'
import { fashionMnistDataset } from './fashion-mnist'
import { loadFolderDataset } from './folder'

/** The dataset an API call names: Debian's Fashion-MNIST, or a folder of class sub-folders. */
export async function openFewshotDataset(spec: FewshotDatasetSpec): Promise<FewshotDataset> {
  if (spec.kind === 'fashion-mnist') return fashionMnistDataset()
  return (await loadFolderDataset(spec.dir, { size: [spec.size, spec.size], channels: spec.channels })).dataset
}
