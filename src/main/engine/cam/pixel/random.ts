import { mulberry32 } from '../../data/random'

/**
 * Seeded random numbers for the stochastic attributions (SmoothGrad's noise, the uniform baseline):
 * the engine's mulberry32 (data/random.ts), so a seed gives the same maps on every machine and run.
 * `stream` derives independent generators for (seed, image, sample) so one image's noise does not
 * depend on how many images came before it in a batch.
 */
/** A generator for one (seed, ...keys): the keys are hashed into the seed (FNV-1a style mixing). */
export function stream(seed: number, ...keys: number[]): () => number {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (const k of keys) {
    h = Math.imul(h ^ (k >>> 0), 0x01000193) >>> 0
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0
  }
  return mulberry32(h)
}

/** n normal samples with mean 0 and standard deviation sigma (Box-Muller). */
export function gaussian(rand: () => number, n: number, sigma: number): Float32Array {
  const out = new Float32Array(n)
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rand() // (0, 1]: log(0) never happens
    const v = rand()
    const r = Math.sqrt(-2 * Math.log(u)) * sigma
    out[i] = r * Math.cos(2 * Math.PI * v)
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v)
  }
  return out
}
