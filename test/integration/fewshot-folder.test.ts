import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { materialiseEpisode } from '../../src/main/engine/fewshot/data/batch'
import { readImage } from '../../src/main/engine/fewshot/data/dataset'
import { samplePairedEpisode } from '../../src/main/engine/fewshot/data/episodes'
import { loadFolderDataset, supportQueryFolders } from '../../src/main/engine/fewshot/data/folder'
import { seededRandom } from '../../src/main/engine/data/random'
import { rejection, tempDir } from '../helpers'

type Rgb = [number, number, number]

/** A solid-colour PNG (sizes differ from the target on purpose, so loading must resize). */
async function png(path: string, rgb: Rgb, width = 7, height = 5): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true })
  await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toFile(path)
}

/** `root/<class>/<i>.png` for each class, `counts[class]` images of the class colour. */
async function tree(root: string, classes: Record<string, { rgb: Rgb; count: number }>): Promise<string> {
  for (const [name, { rgb, count }] of Object.entries(classes)) {
    for (let i = 0; i < count; i++) await png(join(root, name, `${i}.png`), rgb)
  }
  return root
}

const RED: Rgb = [255, 0, 0]
const GREEN: Rgb = [0, 128, 0]
const BLUE: Rgb = [0, 0, 255]
const unit = (v: number) => Math.fround(v / 255)

describe('labelled image folders', () => {
  it('loads one class per sub-folder, resized, as RGB or greyscale, with warnings for skipped files', async () => {
    const root = await tree(tempDir(), { red: { rgb: RED, count: 3 }, '10': { rgb: BLUE, count: 2 }, '2': { rgb: GREEN, count: 2 } })
    writeFileSync(join(root, 'red', 'broken.png'), 'not a png at all')
    writeFileSync(join(root, 'red', 'notes.txt'), 'ignored: not an image')
    await png(join(root, 'loose.png'), RED)
    await png(join(root, '.hidden', 'x.png'), RED)

    const { dataset, warnings } = await loadFolderDataset(root, { size: [4, 3], channels: 3 })
    // Natural order: "2" before "10"; the hidden folder is no class.
    expect(dataset.classes.map((c) => [c.name, c.images.length])).toEqual([['2', 2], ['10', 2], ['red', 3]])
    expect([dataset.channels, dataset.height, dataset.width]).toEqual([3, 4, 3])
    expect(warnings.map((w) => w.message)).toEqual([
      'loose.png is not inside a class sub-folder and was ignored.',
      expect.stringMatching(/^red\/broken\.png is not a readable image/)
    ])
    expect(warnings[1].file).toBe(join(root, 'red', 'broken.png'))
    const green = readImage(dataset, dataset.classes[0].images[0])
    expect(green).toHaveLength(3 * 4 * 3)
    // CHW: a plane of red, one of green, one of blue.
    expect([green[0], green[12], green[24], green[35]]).toEqual([0, unit(128), 0, 0])

    const grey = await loadFolderDataset(root, { size: [2, 2], channels: 1 })
    const red = readImage(grey.dataset, grey.dataset.classes[2].images[0])
    // PIL's luma of pure red: (255 * 19595 + 32768) >> 16 = 76.
    expect([...red]).toEqual(new Array(4).fill(unit(76)))
  })

  it('fails when a class is too small for the episodes, naming it and listing unreadable images', async () => {
    const root = await tree(tempDir(), { cat: { rgb: RED, count: 5 }, dog: { rgb: BLUE, count: 2 } })
    writeFileSync(join(root, 'dog', 'bad.png'), Buffer.alloc(0))
    const err = await rejection(loadFolderDataset(root, { size: [4, 4], channels: 3, need: { ways: 2, shots: 1, queries: 2 } }))
    expect(err.code).toBe('out-of-range')
    expect(err.message).toContain(`Too few images in the folder ${root}: class "dog" has 2;`)
    expect(err.message).toMatch(/need 3 images in every class\. 1 image\(s\) could not be read: dog\/bad\.png is empty \(0 bytes\)\./)
    expect(err.details).toMatchObject({ needed: 3, classes: [{ name: 'dog', images: 2 }] })
    // Enough images: the unreadable one is only a warning.
    const ok = await loadFolderDataset(root, { size: [4, 4], channels: 3, need: { ways: 2, shots: 1, queries: 1 } })
    expect(ok.warnings.map((w) => w.message)).toEqual(['dog/bad.png is empty (0 bytes).'])
  })

  it('says what is wrong with the folder itself', async () => {
    const opts = { size: [4, 4] as [number, number], channels: 1 as const }
    const missing = join(tempDir(), 'nope')
    const gone = await rejection(loadFolderDataset(missing, opts))
    expect([gone.code, gone.message, gone.file]).toEqual(['not-found', `The dataset folder ${missing} does not exist.`, missing])

    const flat = tempDir()
    await png(join(flat, 'a.png'), RED)
    expect((await rejection(loadFolderDataset(flat, opts))).message).toBe(
      `The dataset folder ${flat} has no class sub-folders; it needs one sub-folder per class (named after the class) holding that class's images.`
    )
    expect((await rejection(loadFolderDataset(join(flat, 'a.png'), opts))).message).toMatch(/a\.png is a file; a dataset is a folder with one sub-folder per class/)

    const single = await tree(tempDir(), { only: { rgb: RED, count: 4 } })
    expect((await rejection(loadFolderDataset(single, opts))).message).toBe(
      `The dataset folder ${single} has only one class sub-folder (only); few-shot needs at least 2 classes, one sub-folder each.`
    )
    const two = await tree(tempDir(), { a: { rgb: RED, count: 1 }, b: { rgb: BLUE, count: 1 } })
    expect((await rejection(loadFolderDataset(two, { ...opts, size: [0, 4] }))).message).toMatch(/image size 0x4/)
  })
})

describe('support and query folders', () => {
  it('loads both with the same class order and draws support from one, queries from the other', async () => {
    const base = tempDir()
    const support = await tree(join(base, 'support'), { cat: { rgb: RED, count: 2 }, dog: { rgb: BLUE, count: 2 } })
    const query = await tree(join(base, 'query'), { cat: { rgb: RED, count: 3 }, dog: { rgb: BLUE, count: 3 } })
    const pair = await supportQueryFolders(support, query, { size: [3, 3], channels: 3, need: { ways: 2, shots: 2, queries: 3 } })
    expect(pair.support.classes.map((c) => c.name)).toEqual(['cat', 'dog'])
    expect(pair.query.classes.map((c) => c.name)).toEqual(['cat', 'dog'])
    const e = samplePairedEpisode(seededRandom(5), pair.support.classes, pair.query.classes, [0, 1], 2, 2, 3)
    const b = materialiseEpisode(pair.support, e, pair.query)
    expect([b.support.length, b.query.length]).toEqual([2 * 2 * 27, 2 * 3 * 27])
    // Each query image has its episode class's colour: red (cat) has R = 1 in its first plane.
    const isCat = e.classes.map((c) => c === 0)
    for (let i = 0; i < 6; i++) expect(b.query[i * 27] === 1).toBe(isCat[b.queryLabels[i]])

    const err = await rejection(supportQueryFolders(support, query, { size: [3, 3], channels: 3, need: { ways: 2, shots: 3, queries: 3 } }))
    expect(err.message).toMatch(/Too few images in the support folder .*class "cat" has 2, "dog" has 2; 3-shot episodes need 3 images/)
  })

  it('names the classes missing from either folder', async () => {
    const base = tempDir()
    const support = await tree(join(base, 's'), { cat: { rgb: RED, count: 1 }, dog: { rgb: BLUE, count: 1 }, eel: { rgb: GREEN, count: 1 } })
    const query = await tree(join(base, 'q'), { cat: { rgb: RED, count: 1 }, fox: { rgb: BLUE, count: 1 } })
    const err = await rejection(supportQueryFolders(support, query, { size: [3, 3], channels: 1 }))
    expect(err.message).toBe(
      `The support folder ${support} and the query folder ${query} must have the same class sub-folders; missing from the query folder: dog, eel; missing from the support folder: fox.`
    )
    expect(err.details).toEqual({ notInQuery: ['dog', 'eel'], notInSupport: ['fox'] })
  })
})
