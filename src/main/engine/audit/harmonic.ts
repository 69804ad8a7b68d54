/**
 * The linear system of ROAD's imputation on one image plane, and its solver: conjugate gradients
 * preconditioned by a multigrid V-cycle. Plain (diagonally preconditioned) CG needs hundreds of
 * iterations on the large removed regions of a 224 px image (seconds per image in JavaScript); the
 * V-cycle removes the smooth error components CG is slow on, so a few dozen iterations suffice.
 */

/** 8-neighbourhood of ROAD's noisy linear imputer: direct neighbours 1/6, diagonal ones 1/12. */
export const NEIGHBOURS: [number, number, number][] = [
  [1, 1, 1 / 12],
  [0, 1, 1 / 6],
  [-1, 1, 1 / 12],
  [1, -1, 1 / 12],
  [0, -1, 1 / 6],
  [-1, -1, 1 / 12],
  [1, 0, 1 / 6],
  [-1, 0, 1 / 6]
]

/** The unknowns of one grid and their operator: (M v)_k = diag_k v_k - sum_j w_kj v_j over unknown neighbours. */
interface Level {
  n: number
  nbr: Int32Array
  wts: Float64Array
  diag: Float64Array
  /** Fine unknown k -> its coarse cell's unknown index (set on the finer level). */
  parent: Int32Array | null
  coarse: Level | null
}

/** Below this many unknowns the V-cycle solves its level directly (diagonal CG to a tight tolerance). */
const COARSEST = 256

function buildLevel(removed: Uint8Array, H: number, W: number, scale: number): { level: Level; pixels: number[]; unknown: Int32Array } {
  const area = H * W
  const unknown = new Int32Array(area).fill(-1)
  const pixels: number[] = []
  for (let p = 0; p < area; p++) if (removed[p]) unknown[p] = pixels.push(p) - 1
  const n = pixels.length
  const nbr = new Int32Array(n * 8).fill(-1)
  const wts = new Float64Array(n * 8)
  const diag = new Float64Array(n)
  for (let k = 0; k < n; k++) {
    const p = pixels[k]
    const y = Math.floor(p / W)
    const x = p - y * W
    let j = 0
    for (const [dy, dx, w] of NEIGHBOURS) {
      const ny = y + dy
      const nx = x + dx
      if (ny < 0 || nx < 0 || ny >= H || nx >= W) continue
      const q = unknown[ny * W + nx]
      if (q >= 0) {
        nbr[k * 8 + j] = q
        wts[k * 8 + j] = w * scale
        j++
      }
      diag[k] += w * scale
    }
  }
  const level: Level = { n, nbr, wts, diag, parent: null, coarse: null }
  if (n > COARSEST && H >= 4 && W >= 4) {
    // A coarse cell is unknown when any of its 2x2 pixels is. With piecewise-constant prolongation P
    // and restriction P^T (summing the children), the Galerkin operator P^T M P of a smooth error is
    // the same stencil on the coarse grid (4 children, each ~ (h^2/3) Laplacian, = ((2h)^2/3) Laplacian),
    // so the coarse level re-uses the fine weights.
    const h = Math.ceil(H / 2)
    const w = Math.ceil(W / 2)
    const cRemoved = new Uint8Array(h * w)
    for (const p of pixels) cRemoved[(Math.floor(p / W) >> 1) * w + ((p % W) >> 1)] = 1
    const c = buildLevel(cRemoved, h, w, scale)
    if (c.level.n < n) {
      level.coarse = c.level
      level.parent = Int32Array.from(pixels, (p) => c.unknown[(Math.floor(p / W) >> 1) * w + ((p % W) >> 1)])
    }
  }
  return { level, pixels, unknown }
}

function apply(l: Level, v: Float64Array, into: Float64Array): void {
  const { n, nbr, wts, diag } = l
  for (let k = 0; k < n; k++) {
    let acc = diag[k] * v[k]
    for (let j = k * 8; j < k * 8 + 8; j++) {
      const q = nbr[j]
      if (q < 0) break
      acc -= wts[j] * v[q]
    }
    into[k] = acc
  }
}

/** Damped Jacobi sweeps on M z = r. */
function smooth(l: Level, r: Float64Array, z: Float64Array, sweeps: number): void {
  const mz = new Float64Array(l.n)
  for (let s = 0; s < sweeps; s++) {
    apply(l, z, mz)
    for (let k = 0; k < l.n; k++) z[k] += (0.8 * (r[k] - mz[k])) / l.diag[k]
  }
}

/** One V-cycle: an approximate solve of M z = r (symmetric: same smoothing before and after, R = P^T). */
function vcycle(l: Level, r: Float64Array): Float64Array {
  if (!l.coarse) return cg(l, r, (x) => Float64Array.from(x, (v, k) => v / l.diag[k]), 1e-10, 2000)
  const z = new Float64Array(l.n)
  smooth(l, r, z, 2)
  const mz = new Float64Array(l.n)
  apply(l, z, mz)
  const rc = new Float64Array(l.coarse.n)
  for (let k = 0; k < l.n; k++) rc[l.parent![k]] += r[k] - mz[k]
  const ec = vcycle(l.coarse, rc)
  for (let k = 0; k < l.n; k++) z[k] += ec[l.parent![k]]
  smooth(l, r, z, 2)
  return z
}

/** Preconditioned conjugate gradients on level l from zero, to `tol` relative residual. */
function cg(l: Level, b: Float64Array, precond: (r: Float64Array) => Float64Array, tol: number, maxIter: number): Float64Array {
  const n = l.n
  const x = new Float64Array(n)
  const r = Float64Array.from(b)
  let bNorm = 0
  for (let i = 0; i < n; i++) bNorm += b[i] * b[i]
  bNorm = Math.sqrt(bNorm)
  if (bNorm === 0) return x
  let z = precond(r)
  const p = Float64Array.from(z)
  const ap = new Float64Array(n)
  let rz = 0
  for (let i = 0; i < n; i++) rz += r[i] * z[i]
  for (let it = 0; it < maxIter; it++) {
    apply(l, p, ap)
    let pap = 0
    for (let i = 0; i < n; i++) pap += p[i] * ap[i]
    if (!(pap > 0)) break
    const alpha = rz / pap
    let rr = 0
    for (let i = 0; i < n; i++) {
      x[i] += alpha * p[i]
      r[i] -= alpha * ap[i]
      rr += r[i] * r[i]
    }
    if (Math.sqrt(rr) <= tol * bNorm) break
    z = precond(r)
    let rzNext = 0
    for (let i = 0; i < n; i++) rzNext += r[i] * z[i]
    const beta = rzNext / rz
    rz = rzNext
    for (let i = 0; i < n; i++) p[i] = z[i] + beta * p[i]
  }
  return x
}

/**
 * Fills the removed pixels (1 in `removed`) of one H x W plane with the linear imputation: each is the
 * weighted mean of its in-image neighbours, solved jointly. The system M v = c (M_ii = sum of in-image
 * neighbour weights, M_ij = -w for removed neighbours, c_i = sum of w * value over kept neighbours) is
 * symmetric positive definite when every removed region touches a kept pixel; it is solved to 1e-8
 * relative residual, far below ROAD's noise.
 */
export function solveHarmonic(vals: Float64Array, removed: Uint8Array, H: number, W: number): Float64Array {
  return harmonicSolver(removed, H, W)(vals)
}

/** The solver for one mask, built once and applied to each channel. */
export function harmonicSolver(removed: Uint8Array, H: number, W: number): (vals: Float64Array) => Float64Array {
  const { level, pixels, unknown } = buildLevel(removed, H, W, 1)
  return (vals) => {
    const out = Float64Array.from(vals)
    if (!level.n) return out
    const b = new Float64Array(level.n)
    for (let k = 0; k < level.n; k++) {
      const p = pixels[k]
      const y = Math.floor(p / W)
      const x = p - y * W
      for (const [dy, dx, w] of NEIGHBOURS) {
        const ny = y + dy
        const nx = x + dx
        if (ny < 0 || nx < 0 || ny >= H || nx >= W || unknown[ny * W + nx] >= 0) continue
        b[k] += w * vals[ny * W + nx]
      }
    }
    const v = cg(level, b, (r) => vcycle(level, r), 1e-8, 500)
    for (let k = 0; k < level.n; k++) out[pixels[k]] = v[k]
    return out
  }
}
