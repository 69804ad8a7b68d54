import type { FewshotDataset, ImageRef } from './dataset'
import type { Episode } from './episodes'
import type { LabelledRef } from './episodes-file'

/** An episode's images as the network takes them, plus its labels (docs/fewshot.md's order). */
export interface EpisodeBatch {
  ways: number
  shots: number
  queries: number
  /** [ways * shots, C, H, W] */
  support: Float32Array
  /** [ways * queries, C, H, W] */
  query: Float32Array
  supportLabels: Int32Array
  queryLabels: Int32Array
  /** [C, H, W] of one image. */
  imageShape: [number, number, number]
}

/** Images `refs` of `ds` stacked into one [refs.length, C, H, W] buffer. */
export function imageBatch(ds: FewshotDataset, refs: ImageRef[]): Float32Array {
  const size = ds.channels * ds.height * ds.width
  const out = new Float32Array(refs.length * size)
  refs.forEach((ref, i) => ds.read(ref, out, i * size))
  return out
}

/** Labels of a class-by-class set: `perClass` of 0, then of 1, ..., up to ways - 1. */
export function episodeLabels(ways: number, perClass: number): Int32Array {
  const out = new Int32Array(ways * perClass)
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(i / perClass)
  return out
}

/** [labels.length, classes] float32 one-hot rows. */
export function oneHot(labels: ArrayLike<number>, classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes)
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]
    if (!Number.isInteger(y) || y < 0 || y >= classes) throw new RangeError(`oneHot: label ${y} at ${i} is not in 0..${classes - 1}`)
    out[i * classes + y] = 1
  }
  return out
}

/**
 * Reads an episode's images. `queryDs` is the dataset its query refs point into when support and
 * query come from separate folders; by default both come from `ds`.
 */
export function materialiseEpisode(ds: FewshotDataset, episode: Episode, queryDs: FewshotDataset = ds): EpisodeBatch {
  const ways = episode.classes.length
  const shots = episode.support.length / ways
  const queries = episode.query.length / ways
  if (!Number.isInteger(shots) || !Number.isInteger(queries)) {
    throw new RangeError(`materialiseEpisode: ${episode.support.length} support / ${episode.query.length} query images do not split into ${ways} classes`)
  }
  return {
    ways,
    shots,
    queries,
    support: imageBatch(ds, episode.support),
    query: imageBatch(queryDs, episode.query),
    supportLabels: episodeLabels(ways, shots),
    queryLabels: episodeLabels(ways, queries),
    imageShape: [ds.channels, ds.height, ds.width]
  }
}

/** A fine-tune batch as an episode with no support set: the query set is the labelled batch. */
export function supervisedBatch(ds: FewshotDataset, refs: LabelledRef[], classes: number): EpisodeBatch {
  return {
    ways: classes,
    shots: 0,
    queries: refs.length,
    support: new Float32Array(0),
    query: imageBatch(ds, refs),
    supportLabels: new Int32Array(0),
    queryLabels: Int32Array.from(refs, (r) => r.label),
    imageShape: [ds.channels, ds.height, ds.width]
  }
}
