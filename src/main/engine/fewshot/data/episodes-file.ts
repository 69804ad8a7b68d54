import { ApiError } from '../../../../shared/errors'
import { selectClasses, withRotations, type FewshotDataset, type ImageRef } from './dataset'
import { checkEpisodeFeasible, sampleEpisode, type Episode } from './episodes'
import { deriveSeed, seededRandom } from '../../data/random'

export interface EpisodePlanOptions {
  /** The unrotated dataset (Fashion-MNIST's training file); refs index into it. */
  dataset: FewshotDataset
  trainClasses: number[]
  testClasses: number[]
  /** Quarter-turn copies of each meta-training class (1 = none, 4 = the Omniglot convention). */
  rotations?: number
  ways: number
  shots: number
  queries: number
  /** Meta-training iterations, each of `metaBatch` tasks. */
  iterations: number
  metaBatch: number
  testEpisodes: number
  seed: number
  /** Draw the supervised batches of the finetune method (default true). */
  finetune?: boolean
}

/** A supervised image with its meta-training class (index into `trainSet.classes`). */
export interface LabelledRef extends ImageRef {
  label: number
}

export interface EpisodePlan {
  /** Meta-training classes after rotation, in label order c * rotations + r. */
  trainSet: FewshotDataset
  testSet: FewshotDataset
  train: Episode[][]
  test: Episode[]
  finetune: LabelledRef[][]
}

/** docs/fewshot.md's episodes file. */
export interface EpisodesFile {
  format: 'metascope-episodes'
  version: 1
  dataset: string
  file: string
  ways: number
  shots: number
  queries: number
  train: { support: [number, number][]; query: [number, number][] }[][]
  test: { support: [number, number][]; query: [number, number][] }[]
  finetune: [number, number, number][][]
}

/** Independent streams, so e.g. more training iterations leave the test episodes unchanged. */
const STREAM = { train: 0, test: 1, finetune: 2 }

/** Draws every episode and fine-tune batch of a run from `seed`, checking the setup first. */
export function planEpisodes(o: EpisodePlanOptions): EpisodePlan {
  const counts = { iterations: [o.iterations, 0], metaBatch: [o.metaBatch, 1], testEpisodes: [o.testEpisodes, 0] } as const
  for (const [name, [v, min]] of Object.entries(counts)) {
    if (!Number.isInteger(v) || v < min) throw new ApiError('invalid-arguments', `${name} must be a whole number of at least ${min}, not ${v}.`)
  }
  const overlap = o.trainClasses.filter((c) => o.testClasses.includes(c))
  if (overlap.length) {
    throw new ApiError('invalid-arguments', `Meta-training and meta-test classes must be disjoint; both include ${overlap.join(', ')}.`)
  }
  const trainSet = withRotations(selectClasses(o.dataset, o.trainClasses), o.rotations ?? 1)
  const testSet = selectClasses(o.dataset, o.testClasses)
  checkEpisodeFeasible({ name: `${o.dataset.name} meta-training classes`, classes: trainSet.classes }, o.ways, o.shots, o.queries)
  checkEpisodeFeasible({ name: `${o.dataset.name} meta-test classes`, classes: testSet.classes }, o.ways, o.shots, o.queries)

  const trainIds = trainSet.classes.map((_, i) => i)
  const testIds = testSet.classes.map((_, i) => i)
  const episode = (rand: ReturnType<typeof seededRandom>, set: FewshotDataset, ids: number[]) =>
    sampleEpisode(rand, set.classes, ids, o.ways, o.shots, o.queries)

  const trainRand = seededRandom(deriveSeed(o.seed, STREAM.train))
  const train = Array.from({ length: o.iterations }, () => Array.from({ length: o.metaBatch }, () => episode(trainRand, trainSet, trainIds)))
  const testRand = seededRandom(deriveSeed(o.seed, STREAM.test))
  const test = Array.from({ length: o.testEpisodes }, () => episode(testRand, testSet, testIds))
  const finetune = o.finetune === false ? [] : finetuneBatches(trainSet, o.iterations, o.metaBatch * o.ways * (o.shots + o.queries), o.seed)
  return { trainSet, testSet, train, test, finetune }
}

/**
 * The finetune method's supervised batches: each `size` distinct images drawn uniformly from all
 * meta-training images (every class and rotation pooled), labelled with their class.
 */
function finetuneBatches(trainSet: FewshotDataset, iterations: number, size: number, seed: number): LabelledRef[][] {
  const starts: number[] = []
  let total = 0
  for (const c of trainSet.classes) {
    starts.push(total)
    total += c.images.length
  }
  if (size > total) {
    throw new ApiError('out-of-range', `A fine-tune batch holds ${size} distinct images, but the ${trainSet.classes.length} meta-training classes hold only ${total}.`)
  }
  const rand = seededRandom(deriveSeed(seed, STREAM.finetune))
  const locate = (flat: number): LabelledRef => {
    // Last class whose first pooled image is at or before `flat`.
    let lo = 0
    let hi = starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (starts[mid] <= flat) lo = mid
      else hi = mid - 1
    }
    const ref = trainSet.classes[lo].images[flat - starts[lo]]
    return { index: ref.index, rot: ref.rot, label: lo }
  }
  return Array.from({ length: iterations }, () => rand.distinct(total, size).map(locate))
}

const pairs = (refs: ImageRef[]): [number, number][] => refs.map((r) => [r.index, r.rot])
const task = (e: Episode) => ({ support: pairs(e.support), query: pairs(e.query) })

/** The plan in the episodes-file format, for another implementation to replay. */
export function toEpisodesFile(plan: EpisodePlan, o: Pick<EpisodePlanOptions, 'dataset' | 'ways' | 'shots' | 'queries'>): EpisodesFile {
  return {
    format: 'metascope-episodes',
    version: 1,
    dataset: o.dataset.name,
    file: o.dataset.file,
    ways: o.ways,
    shots: o.shots,
    queries: o.queries,
    train: plan.train.map((tasks) => tasks.map(task)),
    test: plan.test.map(task),
    finetune: plan.finetune.map((batch) => batch.map((r): [number, number, number] => [r.index, r.rot, r.label]))
  }
}

/** planEpisodes then toEpisodesFile. */
export function makeEpisodesFile(o: EpisodePlanOptions): EpisodesFile {
  return toEpisodesFile(planEpisodes(o), o)
}
