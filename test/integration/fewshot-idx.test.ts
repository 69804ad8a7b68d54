import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { FewshotConfig } from '../../src/shared/fewshot'
import { openFewshotDataset } from '../../src/main/engine/fewshot/data/open'
import { runMetaTraining } from '../../src/main/engine/fewshot/meta-train'
import { rejection, tempDir } from '../helpers'

/** idx files as MNIST ships them: big-endian magic (0x0803 images, 0x0801 labels), dims, then uint8 data. */
function idx(magic: number, dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length)
  head.writeUInt32BE(magic, 0)
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i))
  return Buffer.concat([head, Buffer.from(data)])
}

/** 6 classes x 20 images of 16 x 16: class c is a stripe pattern of period c + 2 plus per-image noise. */
function writePair(dir: string): { images: string; labels: string } {
  const n = 120
  const pixels = new Uint8Array(n * 256)
  const labels = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const c = i % 6
    labels[i] = c
    for (let p = 0; p < 256; p++) {
      const row = Math.floor(p / 16)
      pixels[i * 256 + p] = (Math.floor(row / (c + 2)) % 2 ? 200 : 40) + ((i * 31 + p * 17) % 40)
    }
  }
  const images = join(dir, 'stripes-images-idx3-ubyte.gz')
  const labelsFile = join(dir, 'stripes-labels-idx1-ubyte')
  writeFileSync(images, gzipSync(idx(0x803, [n, 16, 16], pixels)))
  writeFileSync(labelsFile, idx(0x801, [n], labels))
  return { images, labels: labelsFile }
}

describe('meta-training from an idx dataset', () => {
  it('opens an idx pair as a labelled dataset and meta-trains on its class split', async () => {
    const dir = tempDir()
    const files = writePair(dir)
    const dataset = await openFewshotDataset({ kind: 'idx', ...files })
    expect(dataset.classes.map((c) => [c.name, c.images.length])).toEqual([0, 1, 2, 3, 4, 5].map((c) => [String(c), 20]))
    expect([dataset.channels, dataset.height, dataset.width]).toEqual([1, 16, 16])
    const result = await runMetaTraining({
      dataset,
      trainClasses: [0, 1, 2],
      testClasses: [3, 4, 5],
      config: FewshotConfig.parse({ method: 'protonet', ways: 3, shots: 2, queries: 3, metaBatch: 2 }),
      iterations: 4,
      checkpointPath: join(dir, 'ckpt.json'),
      evalEpisodes: 4,
      threads: 1
    })
    expect(result.iterations).toBe(4)
    expect(result.evaluation!.episodes).toBe(4)
  })

  it('names the file when labels and images disagree', async () => {
    const dir = tempDir()
    const { images } = writePair(dir)
    const short = join(dir, 'short-labels')
    writeFileSync(short, idx(0x801, [3], new Uint8Array([0, 1, 2])))
    const err = await rejection(openFewshotDataset({ kind: 'idx', images, labels: short }))
    expect(err.message).toMatch(/short-labels holds 3 labels but stripes-images-idx3-ubyte\.gz holds 120 images/)
  })
})
