/**
 * A small seeded generator for episode sampling. Episodes must be reproducible from a seed (the
 * episodes file, reruns, tests), and Math.random cannot be seeded, so this is mulberry32: 32-bit
 * state, fast, and statistically fine for picking classes and images.
 */
export interface Random {
  /** A uniform 32-bit unsigned integer. */
  uint32(): number
  /** A uniform float in [0, 1). */
  float(): number
  /** A uniform integer in [0, n), without modulo bias. */
  int(n: number): number
  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[]
  /** `k` distinct integers from [0, n), in random order. */
  distinct(n: number, k: number): number[]
}

/** A generator for `seed` (any integer; only its low 32 bits count). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0
  const uint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
  const int = (n: number): number => {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new RangeError(`int(n) needs a whole n in [1, 2^32], got ${n}`)
    // Reject the top partial block of 2^32 so every residue is equally likely.
    const limit = 2 ** 32 - (2 ** 32 % n)
    for (;;) {
      const u = uint32()
      if (u < limit) return u % n
    }
  }
  return {
    uint32,
    float: () => uint32() / 2 ** 32,
    int,
    shuffle<T>(items: T[]): T[] {
      for (let i = items.length - 1; i > 0; i--) {
        const j = int(i + 1)
        const t = items[i]
        items[i] = items[j]
        items[j] = t
      }
      return items
    },
    distinct(n: number, k: number): number[] {
      if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`distinct(n, k) needs 0 <= k <= n, got n=${n}, k=${k}`)
      // A partial Fisher-Yates over 0..n-1 that stores only the swapped slots: O(k), not O(n), which
      // matters when drawing 16 of 6000 images thousands of times.
      const swapped = new Map<number, number>()
      const out: number[] = []
      for (let i = 0; i < k; i++) {
        const j = i + int(n - i)
        const atJ = swapped.get(j) ?? j
        swapped.set(j, swapped.get(i) ?? i)
        out.push(atJ)
      }
      return out
    }
  }
}

/**
 * An independent seed for one use of a seed (train episodes, test episodes, fine-tune batches), so
 * that changing how many training iterations are drawn leaves the test episodes as they were.
 */
export function deriveSeed(seed: number, stream: number): number {
  // splitmix32-style mixing of the pair.
  let h = (seed >>> 0) ^ Math.imul(stream + 1, 0x9e3779b9)
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** The generator as a plain function of uniform floats in [0, 1) (noise, masks, baselines). */
export function mulberry32(seed: number): () => number {
  const r = seededRandom(seed)
  return () => r.float()
}
