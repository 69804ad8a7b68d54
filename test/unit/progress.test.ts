import { beforeAll, describe, expect, it } from 'vitest'

/**
 * The progress arithmetic of the renderer (src/renderer/src/lib/progress.ts). Loaded at run time:
 * tsconfig.node.json does not list renderer files (vue-tsc checks the module itself).
 */
type Step = { done: number; total: number }
type Progress = {
  unitsDone(done: number, total: number, step?: Step): number
  secondsLeft(done: number, total: number, elapsedMs: number): number | null
  byteText(bytes: number): string
}
const modulePath = ['..', '..', 'src', 'renderer', 'src', 'lib', 'progress.ts'].join('/')
let unitsDone: Progress['unitsDone']
let secondsLeft: Progress['secondsLeft']
let byteText: Progress['byteText']

beforeAll(async () => {
  ;({ unitsDone, secondsLeft, byteText } = (await import(/* @vite-ignore */ modulePath)) as Progress)
})

describe('progress arithmetic (the bars and the time left of every progress display)', () => {
  it('counts the unit under way by its step, never past the total', () => {
    expect(unitsDone(3, 12)).toBe(3)
    // Image 4 of 12 with 640 of 2,048 masks done.
    expect(unitsDone(3, 12, { done: 640, total: 2048 })).toBe(3.3125)
    expect(unitsDone(11, 12, { done: 2048, total: 2048 })).toBe(12)
    expect(unitsDone(12, 12, { done: 5, total: 4 })).toBe(12)
    // A step without a total (or a negative count) adds nothing.
    expect(unitsDone(2, 5, { done: 3, total: 0 })).toBe(2)
    expect(unitsDone(2, 5, { done: -1, total: 4 })).toBe(2)
    // Work without a total (a queued job) is its count.
    expect(unitsDone(0, 0, { done: 1, total: 2 })).toBe(0)
  })

  it('estimates the seconds left at the rate so far, and nothing before there is a rate', () => {
    // 3 of 12 in 30 s: 10 s each, 9 to go.
    expect(secondsLeft(3, 12, 30_000)).toBe(90)
    // Within the first image: a quarter of it in 5 s, so 20 s per image.
    expect(secondsLeft(unitsDone(0, 12, { done: 512, total: 2048 }), 12, 5_000)).toBe(235)
    expect(secondsLeft(0, 12, 5_000)).toBeNull()
    expect(secondsLeft(3, 0, 5_000)).toBeNull()
    expect(secondsLeft(12, 12, 60_000)).toBe(0)
  })

  it('writes byte counts as people read them', () => {
    expect(byteText(0)).toBe('0 KB')
    expect(byteText(812 * 1024)).toBe('812 KB')
    expect(byteText(125 * 1024 * 1024)).toBe('125.0 MB')
    expect(byteText(1.25 * 1024 * 1024 * 1024)).toBe('1.3 GB')
  })
})
