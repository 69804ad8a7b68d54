import { basename } from 'node:path'
import { ApiError } from '../../../../shared/errors'
import { byteDataset, type ClassEntry, type FewshotDataset } from './dataset'
import { FASHION_MNIST_LABELS, fashionMnist, readIdxPair } from './idx'

/** Keyed by images path: the training file is 47 MB unpacked and slow to gunzip, so it is read once. */
const loaded = new Map<string, Promise<FewshotDataset>>()

/**
 * Fashion-MNIST's training file as a dataset: 60000 1 x 28 x 28 images, 10 classes; an image's
 * index is its position in the idx file. Throws a not-found ApiError saying what to install when
 * the files are missing.
 */
export function fashionMnistDataset(env: NodeJS.ProcessEnv = process.env): Promise<FewshotDataset> {
  const found = fashionMnist(env)
  if (!found.files) return Promise.reject(new ApiError('not-found', found.reason))
  const { images: imagesPath, labels: labelsPath } = found.files
  let p = loaded.get(imagesPath)
  if (!p) {
    p = load(imagesPath, labelsPath)
    // A failed read is not cached, so fixing the file and retrying works.
    p.catch(() => loaded.delete(imagesPath))
    loaded.set(imagesPath, p)
  }
  return p
}

function load(imagesPath: string, labelsPath: string): Promise<FewshotDataset> {
  // The episodes file names the packaged (gzip'd) file, also when an override folder holds unzipped copies.
  const file = basename(imagesPath).endsWith('.gz') ? basename(imagesPath) : `${basename(imagesPath)}.gz`
  return idxDataset(imagesPath, labelsPath, { name: 'fashion-mnist', file, classNames: FASHION_MNIST_LABELS })
}

/**
 * Any idx image/label pair (MNIST-style files, gzip'd or raw) as a dataset: one class per label value,
 * named by `classNames` or by the number. An image's index is its position in the file.
 */
export async function idxDataset(imagesPath: string, labelsPath: string, o: { name?: string; file?: string; classNames?: string[] } = {}): Promise<FewshotDataset> {
  const { images, labels } = await readIdxPair(imagesPath, labelsPath)
  const count = o.classNames?.length ?? labels.reduce((m, v) => Math.max(m, v + 1), 0)
  const classes: ClassEntry[] = Array.from({ length: count }, (_, i) => ({ name: o.classNames?.[i] ?? String(i), images: [] }))
  for (let i = 0; i < labels.length; i++) {
    const c = classes[labels[i]]
    if (!c) {
      throw new ApiError('bad-file', `${basename(labelsPath)}: label ${labels[i]} of item ${i} is not one of the ${count} classes (0-${count - 1}).`, labelsPath)
    }
    c.images.push({ index: i, rot: 0 })
  }
  const size = images.height * images.width
  return byteDataset({
    name: o.name ?? basename(imagesPath),
    file: o.file ?? basename(imagesPath),
    channels: 1,
    height: images.height,
    width: images.width,
    classes,
    count: images.count,
    bytes: (i) => images.pixels.subarray(i * size, (i + 1) * size)
  })
}
