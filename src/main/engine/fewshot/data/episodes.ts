import { ApiError } from '../../../../shared/errors'
import type { ClassEntry, FewshotDataset, ImageRef } from './dataset'
import type { Random } from '../../data/random'

/**
 * One N-way episode. `classes[n]` is the dataset class with episode label n; support and query are
 * ordered class by class (support image i has label floor(i / K)), as docs/fewshot.md defines.
 */
export interface Episode {
  classes: number[]
  support: ImageRef[]
  query: ImageRef[]
}

const whole = (v: number, min: number) => Number.isInteger(v) && v >= min

function checkCounts(ways: number, shots: number, queries: number): void {
  const bad = [
    whole(ways, 2) ? null : `ways ${ways} (at least 2: an episode tells classes apart)`,
    whole(shots, 1) ? null : `shots ${shots} (at least 1)`,
    whole(queries, 1) ? null : `queries ${queries} (at least 1)`
  ].filter(Boolean)
  if (bad.length) throw new ApiError('invalid-arguments', `Episode sizes must be whole numbers: ${bad.join(', ')}.`)
}

/**
 * Throws unless `ds` can give `ways`-way episodes with `shots` support and `queries` query images
 * per class: at least 2 classes, at least `ways` classes, and every class with shots + queries images.
 * All classes that fall short are named in one message, with their counts.
 */
export function checkEpisodeFeasible(ds: Pick<FewshotDataset, 'name' | 'classes'>, ways: number, shots: number, queries: number): void {
  checkEpisodeClasses(ds, ways, shots, queries)
  checkClassSizes(ds, shots + queries, `${ways}-way ${shots}-shot episodes with ${queries} queries per class (${shots} support + ${queries} query)`)
}

/** The part of checkEpisodeFeasible that ignores image counts: valid sizes, 2+ classes, `ways` classes. */
export function checkEpisodeClasses(ds: Pick<FewshotDataset, 'name' | 'classes'>, ways: number, shots: number, queries: number): void {
  checkCounts(ways, shots, queries)
  const n = ds.classes.length
  if (n < 2) {
    const only = n === 1 ? ` (only "${ds.classes[0].name}")` : ''
    throw new ApiError('invalid-arguments', `${ds.name} has ${n} class${n === 1 ? '' : 'es'}${only}; few-shot needs at least 2 classes.`)
  }
  if (ways > n) throw new ApiError('invalid-arguments', `${ways}-way episodes need at least ${ways} classes; ${ds.name} has ${n}.`)
}

/** Throws naming every class of `ds` with fewer than `needed` images; `purpose` says what needs them. */
export function checkClassSizes(ds: Pick<FewshotDataset, 'name' | 'classes'>, needed: number, purpose: string): void {
  const short = ds.classes.filter((c) => c.images.length < needed)
  if (!short.length) return
  const list = short.map((c) => `"${c.name}" has ${c.images.length}`).join(', ')
  throw new ApiError(
    'out-of-range',
    `Too few images in ${ds.name}: class ${list}; ${purpose} need ${needed} images in every class.`,
    undefined,
    { needed, classes: short.map((c) => ({ name: c.name, images: c.images.length })) }
  )
}

/**
 * Draws one episode: `ways` of `classIds` without replacement, in shuffled order (the order is the
 * episode labels), then shots + queries distinct images of each, the first `shots` for support.
 * Random draws happen in that order, so a seed fixes the episode.
 */
export function sampleEpisode(rand: Random, classes: ClassEntry[], classIds: number[], ways: number, shots: number, queries: number): Episode {
  return samplePairedEpisode(rand, classes, null, classIds, ways, shots, queries)
}

/**
 * As sampleEpisode, but when `queryClasses` is given the query images come from it (a separate query
 * folder with the same classes) and the support images from `classes`; nothing is shared then.
 */
export function samplePairedEpisode(
  rand: Random,
  classes: ClassEntry[],
  queryClasses: ClassEntry[] | null,
  classIds: number[],
  ways: number,
  shots: number,
  queries: number
): Episode {
  checkCounts(ways, shots, queries)
  if (ways > classIds.length) throw new ApiError('invalid-arguments', `${ways}-way episodes need ${ways} classes; ${classIds.length} given.`)
  const picked = rand.distinct(classIds.length, ways).map((i) => classIds[i])
  const support: ImageRef[] = []
  const query: ImageRef[] = []
  const draw = (c: ClassEntry | undefined, id: number, k: number): ImageRef[] => {
    if (!c) throw new ApiError('out-of-range', `Class ${id} does not exist (there are ${classes.length}).`)
    if (c.images.length < k) throw new ApiError('out-of-range', `Class "${c.name}" has ${c.images.length} images; an episode needs ${k}.`)
    return rand.distinct(c.images.length, k).map((i) => c.images[i])
  }
  for (const id of picked) {
    if (queryClasses) {
      support.push(...draw(classes[id], id, shots))
      query.push(...draw(queryClasses[id], id, queries))
    } else {
      const refs = draw(classes[id], id, shots + queries)
      support.push(...refs.slice(0, shots))
      query.push(...refs.slice(shots))
    }
  }
  return { classes: picked, support, query }
}

/**
 * Parses a class list such as "0-4" or "0,2,5-7" against `numClasses` classes, keeping the written
 * order (it fixes the fine-tune labels). Repeats, reversed ranges and out-of-range classes are errors.
 */
export function parseClassSpec(spec: string, numClasses: number): number[] {
  const bad = (why: string) => new ApiError('invalid-arguments', `Class list "${spec}": ${why}.`)
  const text = spec.trim()
  if (!text) throw bad('it is empty; write class numbers and ranges such as 0-4 or 0,2,5-7')
  const out: number[] = []
  const seen = new Set<number>()
  for (const raw of text.split(',')) {
    const part = raw.trim()
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part)
    if (!m) throw bad(`"${part}" is not a class number or a range like 5-7`)
    const from = Number(m[1])
    const to = m[2] === undefined ? from : Number(m[2])
    if (to < from) throw bad(`the range ${part} runs backwards`)
    if (to >= numClasses) {
      throw bad(`class ${to} does not exist; there are ${numClasses} classes, numbered 0-${numClasses - 1}`)
    }
    for (let c = from; c <= to; c++) {
      if (seen.has(c)) throw bad(`class ${c} is listed twice`)
      seen.add(c)
      out.push(c)
    }
  }
  return out
}
