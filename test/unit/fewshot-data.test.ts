import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { imageBatch, episodeLabels, materialiseEpisode, oneHot } from '../../src/main/engine/fewshot/data/batch'
import { byteDataset, readImage, selectClasses, withRotations, type FewshotDataset } from '../../src/main/engine/fewshot/data/dataset'
import { makeEpisodesFile, planEpisodes } from '../../src/main/engine/fewshot/data/episodes-file'
import { checkEpisodeFeasible, parseClassSpec, sampleEpisode } from '../../src/main/engine/fewshot/data/episodes'
import { fashionMnistDataset } from '../../src/main/engine/fewshot/data/fashion-mnist'
import { fashionMnist, parseIdx, readIdxImages, readIdxLabels, readIdxPair } from '../../src/main/engine/fewshot/data/idx'
import { seededRandom } from '../../src/main/engine/data/random'
import { rot90 } from '../../src/main/engine/fewshot/data/rotate'
import { ApiError } from '../../src/shared/errors'
import { rejection, tempDir } from '../helpers'
import { maxOf, minOf } from '../../src/shared/stats'

/** idx bytes: magic 0x0000 08 ndim, big-endian uint32 dims, then the data. */
function idx(dims: number[], data: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length)
  head.writeUInt32BE(0x0800 | dims.length, 0)
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i))
  return Buffer.concat([head, Buffer.from(data)])
}

/** The ApiError `fn` throws; fails the test otherwise. */
function thrown(fn: () => unknown): ApiError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ApiError) return err
    throw err
  }
  throw new Error('expected a failure')
}

/** A toy dataset: `sizes[c]` 2x2 greyscale images in class c; image i's pixels are all i. */
function toy(sizes: number[]): FewshotDataset {
  let n = 0
  const classes = sizes.map((k, c) => ({ name: `c${c}`, images: Array.from({ length: k }, () => ({ index: n++, rot: 0 })) }))
  return byteDataset({ name: 'toy', file: 'toy', channels: 1, height: 2, width: 2, classes, count: n, bytes: (i) => new Uint8Array(4).fill(i) })
}

describe('idx files', () => {
  const pixels = Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 10)

  it('reads raw and gzip-compressed images and labels', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'img'), idx([3, 2, 2], pixels))
    writeFileSync(join(dir, 'img.gz'), gzipSync(idx([3, 2, 2], pixels)))
    writeFileSync(join(dir, 'lab.gz'), gzipSync(idx([3], [7, 0, 9])))
    for (const f of ['img', 'img.gz']) {
      const im = await readIdxImages(join(dir, f))
      expect([im.count, im.height, im.width]).toEqual([3, 2, 2])
      expect([...im.pixels]).toEqual(pixels)
    }
    expect([...(await readIdxLabels(join(dir, 'lab.gz')))]).toEqual([7, 0, 9])
    const pair = await readIdxPair(join(dir, 'img.gz'), join(dir, 'lab.gz'))
    expect(pair.images.count).toBe(pair.labels.length)
  })

  it('names the file and the problem for corrupt files', async () => {
    const good = idx([3, 2, 2], pixels)
    const badMagic = Buffer.from(good)
    badMagic[3] = 1
    expect(thrown(() => parseIdx(badMagic, '/x/train-images.gz', 3)).message).toMatch(
      /^train-images\.gz is not a valid idx file: the magic number is 0x00000801, expected 0x00000803 for images/
    )
    const truncated = thrown(() => parseIdx(gzipSync(good.subarray(0, good.length - 5)), '/x/short.gz', 3))
    expect(truncated.message).toMatch(/^short\.gz .*truncated: 3 x 2 x 2 needs 12 data bytes, found 7/)
    expect(truncated.file).toBe('/x/short.gz')
    expect(thrown(() => parseIdx(Buffer.concat([good, Buffer.from([1])]), 'long', 3)).message).toMatch(/1 bytes follow the 3 x 2 x 2 data/)
    expect(thrown(() => parseIdx(good.subarray(0, 10), 'hdr', 3)).message).toMatch(/header needs 16 bytes, the file has 10/)
    expect(thrown(() => parseIdx(gzipSync(good).subarray(0, 20), 'cut.gz', 3)).message).toMatch(/^cut\.gz is a damaged gzip file/)
    expect(thrown(() => parseIdx(idx([3], [1, 2, 3]), 'labels', 3)).message).toMatch(/expected 0x00000803/)

    const dir = tempDir()
    writeFileSync(join(dir, 'img'), good)
    writeFileSync(join(dir, 'lab'), idx([2], [1, 2]))
    expect((await rejection(readIdxPair(join(dir, 'img'), join(dir, 'lab')))).message).toMatch(/lab holds 2 labels but img holds 3 images/)
    expect((await rejection(readIdxImages(join(dir, 'missing')))).message).toMatch(/missing does not exist/)
  })

  it('fashionMnist() says what to install when the files are missing', () => {
    const dir = tempDir()
    const found = fashionMnist({ METASCOPE_FASHION_MNIST_DIR: dir })
    expect(found.files).toBeNull()
    expect(found.reason).toMatch(/train-images-idx3-ubyte\.gz and train-labels-idx1-ubyte\.gz.*apt-get install dataset-fashion-mnist/)
  })

  it('fashionMnistDataset() reads a folder named by METASCOPE_FASHION_MNIST_DIR', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idx([3, 2, 2], pixels)))
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([3], [4, 0, 4])))
    const ds = await fashionMnistDataset({ METASCOPE_FASHION_MNIST_DIR: dir })
    expect(ds.classes.map((c) => c.name)).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'])
    expect(ds.classes[4].images).toEqual([{ index: 0, rot: 0 }, { index: 2, rot: 0 }])
    expect(ds.file).toBe('train-images-idx3-ubyte.gz')
    expect([...readImage(ds, { index: 2, rot: 0 })]).toEqual([80, 90, 100, 110].map((v) => Math.fround(v / 255)))
    const missing = await rejection(fashionMnistDataset({ METASCOPE_FASHION_MNIST_DIR: tempDir() }))
    expect(missing.code).toBe('not-found')
    expect(missing.message).toMatch(/dataset-fashion-mnist/)
  })
})

describe('rotations', () => {
  // [[1, 2, 3], [4, 5, 6]] and numpy.rot90 of it, worked out by hand.
  const img = Uint8Array.of(1, 2, 3, 4, 5, 6)
  const expected: Record<number, [number[], number, number]> = {
    0: [[1, 2, 3, 4, 5, 6], 2, 3],
    1: [[3, 6, 2, 5, 1, 4], 3, 2], // [[3, 6], [2, 5], [1, 4]]
    2: [[6, 5, 4, 3, 2, 1], 2, 3], // [[6, 5, 4], [3, 2, 1]]
    3: [[4, 1, 5, 2, 6, 3], 3, 2] // [[4, 1], [5, 2], [6, 3]]
  }

  it('rot90 matches numpy.rot90(img, r) on a 2x3 image', () => {
    for (const r of [0, 1, 2, 3, 4, -1, 5]) {
      const [data, h, w] = expected[((r % 4) + 4) % 4]
      const out = rot90(img, 2, 3, r)
      expect([[...out.data], out.height, out.width]).toEqual([data, h, w])
    }
  })

  it('rotates every channel plane and keeps the array type', () => {
    const two = Float32Array.of(1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60)
    const out = rot90(two, 2, 3, 1, 2)
    expect(out.data).toBeInstanceOf(Float32Array)
    expect([...out.data]).toEqual([3, 6, 2, 5, 1, 4, 30, 60, 20, 50, 10, 40])
  })

  it('withRotations lists (c, r) class by class and reads turned images scaled to [0, 1]', () => {
    const spec = {
      name: 'sq',
      file: 'sq',
      channels: 1,
      height: 2,
      width: 2,
      classes: [
        { name: 'Coat', images: [{ index: 0, rot: 0 }] },
        { name: 'Bag', images: [{ index: 1, rot: 0 }] }
      ],
      count: 2,
      bytes: (i: number) => (i === 0 ? Uint8Array.of(0, 51, 102, 255) : Uint8Array.of(9, 9, 9, 9))
    }
    const ds = byteDataset(spec)
    const rotated = withRotations(ds, 4)
    expect(rotated.classes.map((c) => c.name)).toEqual(['Coat @0', 'Coat @90', 'Coat @180', 'Coat @270', 'Bag @0', 'Bag @90', 'Bag @180', 'Bag @270'])
    expect(rotated.classes[5].images).toEqual([{ index: 1, rot: 1 }])
    // [[0, 51], [102, 255]] turned once counter-clockwise is [[51, 255], [0, 102]].
    expect([...readImage(rotated, rotated.classes[1].images[0])]).toEqual([51, 255, 0, 102].map((v) => Math.fround(v / 255)))
    expect(thrown(() => withRotations(ds, 5)).message).toMatch(/1 to 4/)
    const wide = byteDataset({ ...spec, height: 1, width: 4 })
    expect(thrown(() => withRotations(wide, 4)).message).toMatch(/need square images/)
    expect(withRotations(wide, 1).classes.map((c) => c.name)).toEqual(['Coat @0', 'Bag @0'])
  })
})

describe('episodes', () => {
  const ds = toy([20, 20, 20, 20, 20, 20, 20])
  const ids = [0, 1, 2, 3, 4, 5, 6]
  const classOf = (index: number) => Math.floor(index / 20)

  it('sampling is deterministic for a seed and differs for another', () => {
    const a = sampleEpisode(seededRandom(42), ds.classes, ids, 5, 2, 3)
    expect(sampleEpisode(seededRandom(42), ds.classes, ids, 5, 2, 3)).toEqual(a)
    expect(sampleEpisode(seededRandom(43), ds.classes, ids, 5, 2, 3)).not.toEqual(a)
  })

  it('picks distinct classes and disjoint support and query images, class by class', () => {
    const rand = seededRandom(1)
    const orders = new Set<string>()
    for (let t = 0; t < 50; t++) {
      const e = sampleEpisode(rand, ds.classes, [6, 2, 4, 0, 1], 3, 2, 4)
      orders.add(e.classes.join(','))
      expect(new Set(e.classes).size).toBe(3)
      expect(e.classes.every((c) => [6, 2, 4, 0, 1].includes(c))).toBe(true)
      expect(e.support).toHaveLength(6)
      expect(e.query).toHaveLength(12)
      e.support.forEach((r, i) => expect(classOf(r.index)).toBe(e.classes[Math.floor(i / 2)]))
      e.query.forEach((r, i) => expect(classOf(r.index)).toBe(e.classes[Math.floor(i / 4)]))
      const all = [...e.support, ...e.query].map((r) => r.index)
      expect(new Set(all).size).toBe(all.length)
    }
    // The class order (= episode labels) is shuffled, not sorted.
    expect(orders.size).toBeGreaterThan(10)
  })

  it('the random generator is uniform enough and its draws are distinct', () => {
    const rand = seededRandom(7)
    const counts = new Array(6).fill(0)
    for (let i = 0; i < 6000; i++) counts[rand.int(6)]++
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120)
    const d = rand.distinct(10, 10)
    expect([...d].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(seededRandom(0).uint32()).not.toBe(seededRandom(1).uint32())
  })

  it('parses class lists', () => {
    expect(parseClassSpec('0-4', 10)).toEqual([0, 1, 2, 3, 4])
    expect(parseClassSpec('0,2,5-7', 10)).toEqual([0, 2, 5, 6, 7])
    expect(parseClassSpec(' 9 , 3 - 4 ', 10)).toEqual([9, 3, 4])
    expect(thrown(() => parseClassSpec('', 10)).message).toMatch(/is empty/)
    expect(thrown(() => parseClassSpec('0-x', 10)).message).toMatch(/"0-x" is not a class number or a range/)
    expect(thrown(() => parseClassSpec('5-3', 10)).message).toMatch(/range 5-3 runs backwards/)
    expect(thrown(() => parseClassSpec('8-10', 10)).message).toMatch(/class 10 does not exist; there are 10 classes, numbered 0-9/)
    expect(thrown(() => parseClassSpec('1,0-2', 10)).message).toMatch(/class 1 is listed twice/)
    expect(thrown(() => parseClassSpec('-1', 10)).code).toBe('invalid-arguments')
  })

  it('feasibility errors name the short classes and the numbers', () => {
    const short = toy([20, 3, 20, 0])
    const err = thrown(() => checkEpisodeFeasible(short, 2, 1, 15))
    expect(err.message).toMatch(/class "c1" has 3, "c3" has 0; .*need 16 images in every class/)
    expect(err.details).toMatchObject({ needed: 16, classes: [{ name: 'c1', images: 3 }, { name: 'c3', images: 0 }] })
    expect(thrown(() => checkEpisodeFeasible(toy([30]), 2, 1, 1)).message).toMatch(/toy has 1 class \(only "c0"\); few-shot needs at least 2 classes/)
    expect(thrown(() => checkEpisodeFeasible(toy([30, 30]), 5, 1, 1)).message).toMatch(/5-way episodes need at least 5 classes; toy has 2/)
    expect(thrown(() => checkEpisodeFeasible(toy([30, 30]), 2, 0, 1.5)).message).toMatch(/shots 0 .*queries 1\.5/)
    expect(() => checkEpisodeFeasible(toy([16, 16]), 2, 1, 15)).not.toThrow()
  })

  it('materialises an episode into batches with class-by-class labels', () => {
    const e = sampleEpisode(seededRandom(3), ds.classes, ids, 3, 2, 1)
    const b = materialiseEpisode(ds, e)
    expect([b.ways, b.shots, b.queries, b.imageShape]).toEqual([3, 2, 1, [1, 2, 2]])
    expect(b.support).toHaveLength(3 * 2 * 4)
    expect(b.query).toHaveLength(3 * 1 * 4)
    expect([...b.supportLabels]).toEqual([0, 0, 1, 1, 2, 2])
    expect([...b.queryLabels]).toEqual([0, 1, 2])
    expect(b.support[4 * 3]).toBe(Math.fround(e.support[3].index / 255))
    expect([...imageBatch(ds, [{ index: 5, rot: 0 }])]).toEqual(new Array(4).fill(Math.fround(5 / 255)))
    expect([...episodeLabels(2, 3)]).toEqual([0, 0, 0, 1, 1, 1])
    expect([...oneHot([1, 0, 2], 3)]).toEqual([0, 1, 0, 1, 0, 0, 0, 0, 1])
    expect(() => oneHot([3], 3)).toThrow(/label 3/)
  })
})

describe('episodes file', () => {
  // Ten classes of 40 square images, like a tiny Fashion-MNIST.
  const ds = toy(new Array(10).fill(40))
  const classOf = (index: number) => Math.floor(index / 40)
  const opts = {
    dataset: ds,
    trainClasses: [0, 1, 2, 3, 4],
    testClasses: [5, 6, 7, 8, 9],
    rotations: 4,
    ways: 5,
    shots: 1,
    queries: 3,
    iterations: 3,
    metaBatch: 2,
    testEpisodes: 4,
    seed: 11
  }

  it('has the documented shape, rotated training classes and unrotated test classes', () => {
    const f = makeEpisodesFile(opts)
    expect(f).toMatchObject({ format: 'metascope-episodes', version: 1, dataset: 'toy', file: 'toy', ways: 5, shots: 1, queries: 3 })
    expect(Object.keys(f)).toEqual(['format', 'version', 'dataset', 'file', 'ways', 'shots', 'queries', 'train', 'test', 'finetune'])
    expect(f.train).toHaveLength(3)
    for (const tasks of f.train) {
      expect(tasks).toHaveLength(2)
      for (const t of tasks) {
        expect(t.support).toHaveLength(5)
        expect(t.query).toHaveLength(15)
        // Support image n and query images 3n..3n+2 share class and rotation: they are one (c, r) class.
        t.support.forEach(([index, rot], n) => {
          expect(classOf(index)).toBeLessThan(5)
          for (const [qi, qr] of t.query.slice(3 * n, 3 * n + 3)) expect([classOf(qi), qr]).toEqual([classOf(index), rot])
        })
      }
    }
    const rots = new Set(f.train.flat().flatMap((t) => t.support.map(([, r]) => r)))
    expect([...rots].sort()).toEqual([0, 1, 2, 3])
    expect(f.test).toHaveLength(4)
    for (const t of f.test) for (const [index, rot] of [...t.support, ...t.query]) expect([classOf(index) >= 5, rot]).toEqual([true, 0])
    expect(f.finetune).toHaveLength(3)
    for (const batch of f.finetune) {
      expect(batch).toHaveLength(2 * 5 * 4)
      expect(new Set(batch.map(([i, r]) => `${i}/${r}`)).size).toBe(batch.length)
      // label = c * rotations + r, c the position in the meta-training class list.
      for (const [index, rot, label] of batch) expect([opts.trainClasses[Math.floor(label / 4)], label % 4]).toEqual([classOf(index), rot])
    }
    expect(JSON.parse(JSON.stringify(f))).toEqual(f)
  })

  it('is deterministic, and the test episodes do not depend on the number of iterations', () => {
    const a = makeEpisodesFile(opts)
    expect(makeEpisodesFile(opts)).toEqual(a)
    const longer = makeEpisodesFile({ ...opts, iterations: 5 })
    expect(longer.test).toEqual(a.test)
    expect(longer.train.slice(0, 3)).toEqual(a.train)
    expect(makeEpisodesFile({ ...opts, seed: 12 }).test).not.toEqual(a.test)
    expect(makeEpisodesFile({ ...opts, finetune: false }).finetune).toEqual([])
  })

  it('rejects overlapping or infeasible class lists', () => {
    expect(thrown(() => makeEpisodesFile({ ...opts, testClasses: [4, 5, 6, 7, 8] })).message).toMatch(/disjoint; both include 4/)
    expect(thrown(() => makeEpisodesFile({ ...opts, testClasses: [5, 6] })).message).toMatch(/5-way episodes need at least 5 classes; toy meta-test classes has 2/)
    expect(thrown(() => makeEpisodesFile({ ...opts, queries: 40 })).message).toMatch(/need 41 images in every class/)
    expect(thrown(() => makeEpisodesFile({ ...opts, metaBatch: 0 })).message).toMatch(/metaBatch must be a whole number of at least 1/)
  })

  it('planEpisodes gives episodes that materialise against the rotated class list', () => {
    const plan = planEpisodes(opts)
    expect(plan.trainSet.classes).toHaveLength(20)
    expect(selectClasses(ds, [5, 6, 7, 8, 9]).classes).toEqual(plan.testSet.classes)
    const b = materialiseEpisode(plan.trainSet, plan.train[0][0])
    expect(b.support).toHaveLength(5 * 4)
  })
})

// Runs wherever Debian's dataset-fashion-mnist package is installed (CI installs it) or
// METASCOPE_FASHION_MNIST_DIR names a copy; skipped only when the training files are missing.
const fashion = fashionMnist()
describe.skipIf(!fashion.files)(`Fashion-MNIST (skipped when missing: ${fashion.reason ?? 'present'})`, () => {
  it('has 60000 1x28x28 training images, 6000 in each of 10 classes', async () => {
    const ds = await fashionMnistDataset()
    expect([ds.name, ds.file, ds.channels, ds.height, ds.width]).toEqual(['fashion-mnist', 'train-images-idx3-ubyte.gz', 1, 28, 28])
    expect(ds.classes.map((c) => c.images.length)).toEqual(new Array(10).fill(6000))
    expect(ds.classes.reduce((n, c) => n + c.images.length, 0)).toBe(60000)
    const img = readImage(ds, ds.classes[4].images[0])
    expect(minOf(img)).toBeGreaterThanOrEqual(0)
    expect(maxOf(img)).toBeLessThanOrEqual(1)
    expect(maxOf(img)).toBeGreaterThan(0.5)
    const f = makeEpisodesFile({ dataset: ds, trainClasses: parseClassSpec('0-4', 10), testClasses: parseClassSpec('5-9', 10), rotations: 4, ways: 5, shots: 1, queries: 15, iterations: 2, metaBatch: 4, testEpisodes: 600, seed: 0 })
    expect(f.test).toHaveLength(600)
    expect(f.finetune[0]).toHaveLength(4 * 5 * 16)
  })
})
