import { describe, expect, it } from 'vitest'
import { maxOf, minOf } from '../../src/shared/stats'

describe('minOf / maxOf', () => {
  it('handle data-sized arrays that Math.min(...array) cannot', () => {
    const big = new Float32Array(2_000_000).map((_, i) => Math.sin(i))
    big[1_234_567] = 7
    big[42] = -9
    expect(() => Math.max.apply(null, big as unknown as number[])).toThrow(RangeError)
    expect(maxOf(big)).toBe(7)
    expect(minOf(big)).toBe(-9)
    expect(maxOf([])).toBe(-Infinity)
    expect(Number.isNaN(maxOf([1, NaN, 2]))).toBe(true)
  })
})

describe('reopening a workspace with a large raw map', () => {
  it('registers the result without overflowing the stack', async () => {
    const { writeFileSync } = await import('node:fs')
    const { join } = await import('node:path')
    const { CamResultStore } = await import('../../src/main/engine/cam/result-store')
    const { tempDir } = await import('../helpers')
    const dir = tempDir()
    writeFileSync(join(dir, 'r1.cam.npy'), '')
    writeFileSync(join(dir, 'r1.raw.npy'), '')
    const raw = Array.from({ length: 1000 * 1000 }, (_, i) => (i % 997) / 997)
    const item = {
      ok: true as const,
      resultId: 'r1',
      file: '/images/big.png',
      imageId: null,
      top5: [],
      target: { index: 0, label: '0', probability: 1, logit: 1 },
      layer: 'l',
      method: 'gradcam',
      provider: 'cpu',
      ms: 1,
      mapPng: '',
      width: 1000,
      height: 1000,
      raw,
      rawShape: [1000, 1000] as [number, number]
    }
    await expect(new CamResultStore().restore(item, dir, 'run-1')).resolves.toBeUndefined()
  })
})
