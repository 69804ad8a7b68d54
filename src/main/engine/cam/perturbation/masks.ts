import { resizeBilinear } from '../../../../shared/resize'
import { stream } from '../pixel/random'

/** A RISE mask's geometry: the model input's height and width, a grid cell's side in pixels, the probability a cell keeps the image. */
export interface MaskSpec {
  h: number
  w: number
  cellSize: number
  keep: number
}

/** The grid of a spec: ceil(H / cell) x ceil(W / cell) cells. */
export function gridSize(s: MaskSpec): [number, number] {
  return [Math.ceil(s.h / s.cellSize), Math.ceil(s.w / s.cellSize)]
}

/**
 * A RISE mask from its grid of 0/1 cells and its shift (Petsiuk et al. 2018, section 3.2 and their
 * generate_masks): the grid upsampled bilinearly to (cells + 1) x cell pixels, so a cell's edge is a
 * ramp rather than a step, then the H x W crop starting at (dy, dx), 0 <= dy, dx < cell, so the cell
 * borders fall anywhere, not on a fixed lattice.
 */
export function maskFromGrid(grid: Float32Array, dy: number, dx: number, s: MaskSpec): Float32Array {
  const [gh, gw] = gridSize(s)
  const uh = (gh + 1) * s.cellSize
  const uw = (gw + 1) * s.cellSize
  // torch.nn.functional.interpolate(mode='bilinear', align_corners=False), as the paper's code upsamples.
  const up = resizeBilinear(grid, gh, gw, uh, uw)
  const out = new Float32Array(s.h * s.w)
  for (let y = 0; y < s.h; y++) out.set(up.subarray((y + dy) * uw + dx, (y + dy) * uw + dx + s.w), y * s.w)
  return out
}

/**
 * RISE's k-th mask of a run: its cells kept with probability `keep` and its shift drawn from a
 * generator for (seed, k) alone, so every image of a run gets the same masks and a mask does not depend
 * on how many came before it.
 */
export function riseMask(seed: number, k: number, s: MaskSpec): Float32Array {
  const rand = stream(seed, 0x524953, k) // 'RIS': apart from the noise and baseline streams of the same seed
  const [gh, gw] = gridSize(s)
  const grid = new Float32Array(gh * gw)
  for (let i = 0; i < grid.length; i++) grid[i] = rand() < s.keep ? 1 : 0
  const dy = Math.floor(rand() * s.cellSize)
  const dx = Math.floor(rand() * s.cellSize)
  return maskFromGrid(grid, dy, dx, s)
}
