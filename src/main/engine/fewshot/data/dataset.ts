import { ApiError } from '../../../../shared/errors'
import { rot90 } from './rotate'

/** One image of a dataset: its position in the dataset's store and the quarter turns to apply. */
export interface ImageRef {
  index: number
  rot: number
}

export interface ClassEntry {
  /** For display and error messages, e.g. "Coat" or "Coat @90". */
  name: string
  images: ImageRef[]
}

/** A labelled image dataset held in memory, as few-shot episodes draw from it. */
export interface FewshotDataset {
  name: string
  /** What `ImageRef.index` counts in (Fashion-MNIST: the idx file's name), for the episodes file. */
  file: string
  channels: number
  height: number
  width: number
  classes: ClassEntry[]
  /** Writes image `ref` as CHW floats in [0, 1] (pixel / 255) at `out[offset...]`. */
  read(ref: ImageRef, out: Float32Array, offset?: number): void
}

/** pixel / 255 in float32, as torchvision's ToTensor computes it. */
const UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255)

/** A dataset over uint8 CHW images, `bytes(index)` giving image `index` (channels x height x width). */
export function byteDataset(spec: Omit<FewshotDataset, 'read'> & { count: number; bytes: (index: number) => Uint8Array }): FewshotDataset {
  const { count, bytes, ...rest } = spec
  const { channels, height, width } = spec
  const size = channels * height * width
  return {
    ...rest,
    read(ref, out, offset = 0) {
      if (!Number.isInteger(ref.index) || ref.index < 0 || ref.index >= count) {
        throw new ApiError('out-of-range', `Image ${ref.index} is not in ${spec.name} (${count} images).`)
      }
      if (ref.rot % 2 !== 0 && height !== width) {
        throw new ApiError('unsupported', `${spec.name}'s ${height}x${width} images cannot be turned by 90 degrees: rotated classes need square images.`)
      }
      const src = bytes(ref.index)
      const data = ref.rot % 4 === 0 ? src : rot90(src, height, width, ref.rot, channels).data
      for (let i = 0; i < size; i++) out[offset + i] = UNIT[data[i]]
    }
  }
}

/** One image as a fresh CHW Float32Array in [0, 1]. */
export function readImage(ds: FewshotDataset, ref: ImageRef): Float32Array {
  const out = new Float32Array(ds.channels * ds.height * ds.width)
  ds.read(ref, out)
  return out
}

/**
 * Rotated classes (the Omniglot convention): class (c, r) holds class c's images turned r * 90 degrees
 * counter-clockwise, for r in 0..rotations-1, listed (c0,r0), (c0,r1), ..., (c1,r0), ... so class
 * c * rotations + r is (c, r), which the episodes file's fine-tune labels rely on.
 */
export function withRotations(ds: FewshotDataset, rotations: number): FewshotDataset {
  if (!Number.isInteger(rotations) || rotations < 1 || rotations > 4) {
    throw new ApiError('invalid-arguments', `Rotations must be a whole number from 1 to 4 (quarter turns per class), not ${rotations}.`)
  }
  if (rotations > 1 && ds.height !== ds.width) {
    throw new ApiError('unsupported', `${ds.name}'s ${ds.height}x${ds.width} images cannot be turned by 90 degrees: rotated classes need square images.`)
  }
  const classes = ds.classes.flatMap((c) =>
    Array.from({ length: rotations }, (_, r) => ({
      name: `${c.name} @${r * 90}`,
      images: c.images.map((ref) => ({ index: ref.index, rot: (ref.rot + r) % 4 }))
    }))
  )
  return { ...ds, classes }
}

/** The dataset restricted to `classIds`, in that order (meta-training vs meta-test classes). */
export function selectClasses(ds: FewshotDataset, classIds: number[]): FewshotDataset {
  const classes = classIds.map((id) => {
    const c = ds.classes[id]
    if (!c) throw new ApiError('out-of-range', `Class ${id} is not in ${ds.name}, which has classes 0-${ds.classes.length - 1}.`)
    return c
  })
  return { ...ds, classes }
}
