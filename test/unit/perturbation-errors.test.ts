import { describe, expect, it } from 'vitest'
import { validateCall } from '../../src/shared/validate'
import { checkOcclusion } from '../../src/main/engine/cam/methods/occlusion'
import { checkRise, riseCellSize } from '../../src/main/engine/cam/methods/rise'
import { errorText } from '../../src/renderer/src/lib/error-text'
import en from '../../src/renderer/src/i18n/en'
import ja from '../../src/renderer/src/i18n/ja'
import { ApiError } from '../../src/shared/errors'

/** Occlusion's and RISE's bad settings: the schema's and the input-size checks, each named by field and said in words in both languages. */
const phrase = (messages: unknown) => {
  const lookup = (key: string) => key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], messages) as string | undefined
  const t = (key: string, p: Record<string, unknown> = {}) => lookup(key)!.replace(/\{(\w+)\}/g, (_, k: string) => String(p[k]))
  return (e: ApiError) => errorText(e.toJSON ? e.toJSON() : e, t, (key) => typeof lookup(key) === 'string')
}
const thrown = (f: () => unknown): ApiError => {
  try {
    f()
  } catch (err) {
    if (err instanceof ApiError) return err
    throw err
  }
  throw new Error('expected an error')
}

describe('perturbation settings errors', () => {
  it('out of the schema: named by field, said in the UI words of both languages', () => {
    const cases: [Record<string, unknown>, string, RegExp, RegExp][] = [
      [{ keep: 0 }, 'keep', /keep probability must be above 0 and at most 1 \(it is 0\)/, /残す確率/],
      [{ masks: 0 }, 'masks', /masks must be a whole number from 1 to 20000 \(it is 0\)/, /マスク数/],
      [{ window: 2000 }, 'window', /Occlusion window must be .* \(it is 2000\)/, /ウィンドウ/],
      [{ stride: 1.5 }, 'stride', /Occlusion stride must be/, /ストライド/],
      [{ cellSize: 0 }, 'cellSize', /cell size must be/, /セルサイズ/]
    ]
    for (const [args, field, words, jaWords] of cases) {
      const e = thrown(() => validateCall('cam.run', { modelId: 'm', imageIds: ['a'], method: 'rise', ...args }))
      expect(e.details?.field).toBe(field)
      expect(phrase(en)(e)).toMatch(words)
      expect(phrase(ja)(e)).toMatch(jaWords)
    }
  })

  it("against the model input's size: the engine's own sentence, which the UI keeps", () => {
    const w = thrown(() => checkOcclusion(30, 8, 28, 28))
    expect(w.details?.field).toBe('window')
    expect(phrase(en)(w)).toBe('The Occlusion window (30 pixels) is larger than the model input (28x28 pixels): give at most 28.')
    expect(thrown(() => checkOcclusion(8, 9, 28, 28)).details?.field).toBe('stride')
    expect(thrown(() => checkRise(29, 28, 40)).details?.field).toBe('cellSize')
    expect(() => checkOcclusion(28, 28, 28, 28)).not.toThrow()
    expect(() => checkRise(28, 28, 28)).not.toThrow()
    // Left out, the cell size is the paper's 7 x 7 grid over the shorter side: it always fits.
    expect([riseCellSize(224, 224), riseCellSize(28, 28), riseCellSize(64, 100), riseCellSize(3, 3)]).toEqual([32, 4, 10, 1])
  })
})
