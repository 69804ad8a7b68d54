/**
 * The linear system of ROAD's imputation on one image plane, and its solver: conjugate gradients
 * preconditioned by a multigrid V-cycle. Plain (diagonally preconditioned) CG needs hundreds of
 * iterations on the large removed regions of a 224 px image (seconds per image in JavaScript); the
 * V-cycle (Gauss-Seidel smoothing, bilinear prolongation, Galerkin coarse operators, a dense
 * Cholesky solve at the bottom) removes the smooth error components CG is slow on: 5-8 iterations
 * reach the 1e-8 relative residual on 224 px masks, MoRF or LeRF, 10-90% removed.
 *
 * The matrix depends only on the mask, so all channels are solved together: vectors hold the m
 * channels of an unknown next to each other (index k * m + c), and each sweep reads the stencil once
 * for all of them. Every work buffer is allocated once per mask, none per iteration.
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
  /** Neighbour unknowns of k at nbr[start[k] .. start[k + 1]) (compact: no empty slots to skip). */
  start: Int32Array
  nbr: Int32Array
  wts: Float64Array
  diag: Float64Array
  /** Prolongation from the coarse level: fine unknown k = sum of pw[j] * coarse[pIdx[j]], j in pStart[k] .. pStart[k + 1]. */
  pStart: Int32Array | null
  pIdx: Int32Array | null
  pw: Float64Array | null
  coarse: Level | null
  /** Neighbours of k with a higher index (later in a forward sweep) start at mid[k]. */
  mid: Int32Array
  /** Work vectors of n * m entries: the right-hand side and solution of this level's V-cycle (as a coarse level); m for a residual. */
  r: Float64Array
  z: Float64Array
  res: Float64Array
  /** Coarsest level only: the Cholesky factor (row-major, lower) of the dense matrix, when it has one. */
  chol: Float64Array | null
}

/** Below this many unknowns the V-cycle solves its level directly (dense Cholesky, factored once per mask). */
const COARSEST = 256

/**
 * One grid's operator as 9-point stencils: st[k * 9 + (dy + 1) * 3 + dx + 1] is the matrix entry
 * between unknown k (at grid position pixels[k]) and its unknown neighbour at (dy, dx) (centre: the
 * diagonal); `unknown` maps grid positions to unknown indices (-1: known, i.e. zero in a correction).
 */
interface Grid {
  H: number
  W: number
  pixels: Int32Array
  unknown: Int32Array
  st: Float64Array
}

/** (dy, dx) of stencil slot d = (dy + 1) * 3 + dx + 1. */
const OFFSET_Y = Int32Array.from({ length: 9 }, (_, d) => Math.floor(d / 3) - 1)
const OFFSET_X = Int32Array.from({ length: 9 }, (_, d) => (d % 3) - 1)

/** The fine grid: ROAD's system on the removed pixels. */
function fineGrid(removed: Uint8Array, H: number, W: number): Grid {
  const area = H * W
  const unknown = new Int32Array(area).fill(-1)
  let n = 0
  for (let p = 0; p < area; p++) if (removed[p]) unknown[p] = n++
  const pixels = new Int32Array(n)
  for (let p = 0; p < area; p++) if (removed[p]) pixels[unknown[p]] = p
  const st = new Float64Array(n * 9)
  for (let k = 0; k < n; k++) {
    const p = pixels[k]
    const y = (p / W) | 0
    const x = p - y * W
    let d = 0
    for (let s = 0; s < 8; s++) {
      const nb = NEIGHBOURS[s]
      const ny = y + nb[0]
      const nx = x + nb[1]
      if (ny < 0 || nx < 0 || ny >= H || nx >= W) continue
      if (unknown[ny * W + nx] >= 0) st[k * 9 + (nb[0] + 1) * 3 + nb[1] + 1] = -nb[2]
      d += nb[2]
    }
    st[k * 9 + 4] = d
  }
  return { H, W, pixels, unknown, st }
}

/** The 1-D bilinear interpolation of fine coordinate y from the coarse grid (coarse point Y sits at fine 2Y). */
function interp1(y: number, into: Int32Array, w: Float64Array): number {
  if ((y & 1) === 0) {
    into[0] = y >> 1
    w[0] = 1
    return 1
  }
  into[0] = y >> 1
  into[1] = (y >> 1) + 1
  w[0] = 0.5
  w[1] = 0.5
  return 2
}

/**
 * The coarse grid (every other point, bilinear prolongation P) and its Galerkin operator P^T M P:
 * it keeps the kept pixels' (Dirichlet) coupling that a re-discretised coarse stencil would lose, so
 * the V-cycle stays a good preconditioner on irregular removed regions. Null when coarsening would
 * not shrink the system (scattered pixels: then the system is well conditioned without it).
 */
function coarsen(g: Grid): { grid: Grid; pStart: Int32Array; pIdx: Int32Array; pw: Float64Array } | null {
  const { H, W, pixels, unknown, st } = g
  const n = pixels.length
  const h = (H >> 1) + 1
  const w = (W >> 1) + 1
  const cUnknown = new Int32Array(h * w).fill(-1)
  const ys = new Int32Array(2)
  const xs = new Int32Array(2)
  const wy = new Float64Array(2)
  const wx = new Float64Array(2)
  const pStart = new Int32Array(n + 1)
  const pPos = new Int32Array(n * 4)
  const pY = new Int32Array(n * 4)
  const pX = new Int32Array(n * 4)
  const pw = new Float64Array(n * 4)
  let e = 0
  for (let k = 0; k < n; k++) {
    const p = pixels[k]
    const y = (p / W) | 0
    const x = p - y * W
    pStart[k] = e
    const ny = interp1(y, ys, wy)
    const nx = interp1(x, xs, wx)
    for (let a = 0; a < ny; a++) {
      for (let b = 0; b < nx; b++) {
        const q = ys[a] * w + xs[b]
        cUnknown[q] = 0
        pPos[e] = q
        pY[e] = ys[a]
        pX[e] = xs[b]
        pw[e] = wy[a] * wx[b]
        e++
      }
    }
  }
  pStart[n] = e
  let nc = 0
  for (let q = 0; q < h * w; q++) if (cUnknown[q] === 0) cUnknown[q] = nc++
  if (nc > 0.6 * n) return null
  const cPixels = new Int32Array(nc)
  for (let q = 0; q < h * w; q++) if (cUnknown[q] >= 0) cPixels[cUnknown[q]] = q
  const pIdx = new Int32Array(e)
  for (let j = 0; j < e; j++) pIdx[j] = cUnknown[pPos[j]]
  const cst = new Float64Array(nc * 9)
  for (let i = 0; i < n; i++) {
    const p = pixels[i]
    for (let d = 0; d < 9; d++) {
      const a = st[i * 9 + d]
      if (a === 0) continue
      const j = d === 4 ? i : unknown[p + OFFSET_Y[d] * W + OFFSET_X[d]]
      for (let s = pStart[i]; s < pStart[i + 1]; s++) {
        const ci = pIdx[s] * 9 + 4 - pY[s] * 3 - pX[s]
        const ai = pw[s] * a
        for (let t = pStart[j]; t < pStart[j + 1]; t++) cst[ci + pY[t] * 3 + pX[t]] += ai * pw[t]
      }
    }
  }
  return { grid: { H: h, W: w, pixels: cPixels, unknown: cUnknown, st: cst }, pStart, pIdx, pw: pw.slice(0, e) }
}

/** The level of a grid and, recursively, its coarser levels. */
function buildLevel(g: Grid, m: number, top = true): Level {
  const { W, pixels, unknown, st } = g
  const n = pixels.length
  const start = new Int32Array(n + 1)
  const nbrAll = new Int32Array(n * 8)
  const wtsAll = new Float64Array(n * 8)
  const diag = new Float64Array(n)
  const mid = new Int32Array(n)
  let e = 0
  for (let k = 0; k < n; k++) {
    const p = pixels[k]
    start[k] = e
    diag[k] = st[k * 9 + 4]
    for (let d = 0; d < 9; d++) {
      // Unknowns are numbered in raster order, so slots after the centre are the higher-numbered neighbours.
      if (d === 4) mid[k] = e
      const a = st[k * 9 + d]
      if (d === 4 || a === 0) continue
      nbrAll[e] = unknown[p + OFFSET_Y[d] * W + OFFSET_X[d]]
      wtsAll[e] = -a
      e++
    }
  }
  start[n] = e
  const level: Level = {
    n,
    start,
    nbr: nbrAll.slice(0, e),
    wts: wtsAll.slice(0, e),
    diag,
    pStart: null,
    pIdx: null,
    pw: null,
    coarse: null,
    mid,
    r: new Float64Array(top ? 0 : n * m),
    z: new Float64Array(top ? 0 : n * m),
    res: new Float64Array(m),
    chol: null
  }
  const c = n > COARSEST && g.H >= 3 && g.W >= 3 ? coarsen(g) : null
  if (c) {
    level.coarse = buildLevel(c.grid, m, false)
    level.pStart = c.pStart
    level.pIdx = c.pIdx
    level.pw = c.pw
  } else if (n <= COARSEST) level.chol = cholesky(level)
  return level
}

/** Dense Cholesky factor of a small level's matrix, or null when it is not positive semi-definite (then CG solves it). */
function cholesky(l: Level): Float64Array | null {
  const { n, start, nbr, wts, diag } = l
  const a = new Float64Array(n * n)
  for (let k = 0; k < n; k++) {
    a[k * n + k] = diag[k]
    for (let j = start[k]; j < start[k + 1]; j++) a[k * n + nbr[j]] -= wts[j]
  }
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]
    for (let t = 0; t < j; t++) d -= a[j * n + t] * a[j * n + t]
    if (!(d > 1e-10 * diag[j])) {
      // Semi-definite (coarse points that interpolate to the same fine unknowns): drop this direction,
      // the preconditioner stays symmetric and positive on the rest.
      if (!(d > -1e-8 * diag[j])) return null
      for (let i = j; i < n; i++) a[i * n + j] = 0
      continue
    }
    d = Math.sqrt(d)
    a[j * n + j] = d
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]
      for (let t = 0; t < j; t++) s -= a[i * n + t] * a[j * n + t]
      a[i * n + j] = s / d
    }
  }
  return a
}

/** into = M v for the m interleaved channels. */
function apply(l: Level, v: Float64Array, into: Float64Array, m: number): void {
  const { n, start, nbr, wts, diag } = l
  if (m === 3) {
    // RGB: the stencil read once for the three channels.
    for (let k = 0; k < n; k++) {
      const d = diag[k]
      let a0 = d * v[k * 3]
      let a1 = d * v[k * 3 + 1]
      let a2 = d * v[k * 3 + 2]
      for (let j = start[k]; j < start[k + 1]; j++) {
        const w = wts[j]
        const q = nbr[j] * 3
        a0 -= w * v[q]
        a1 -= w * v[q + 1]
        a2 -= w * v[q + 2]
      }
      into[k * 3] = a0
      into[k * 3 + 1] = a1
      into[k * 3 + 2] = a2
    }
    return
  }
  for (let k = 0; k < n; k++) {
    const e0 = start[k]
    const e1 = start[k + 1]
    const d = diag[k]
    for (let c = 0; c < m; c++) {
      let acc = d * v[k * m + c]
      for (let j = e0; j < e1; j++) acc -= wts[j] * v[nbr[j] * m + c]
      into[k * m + c] = acc
    }
  }
}

/**
 * One Gauss-Seidel sweep on M z = r, forward or backward. The V-cycle smooths forward before the
 * coarse correction and backward after it, so the cycle is a symmetric operator as CG needs.
 */
function gaussSeidel(l: Level, r: Float64Array, z: Float64Array, m: number, forward: boolean): void {
  const { n, start, nbr, wts, diag } = l
  if (m === 3) {
    for (let i = 0; i < n; i++) {
      const k = forward ? i : n - 1 - i
      let a0 = r[k * 3]
      let a1 = r[k * 3 + 1]
      let a2 = r[k * 3 + 2]
      for (let j = start[k]; j < start[k + 1]; j++) {
        const w = wts[j]
        const q = nbr[j] * 3
        a0 += w * z[q]
        a1 += w * z[q + 1]
        a2 += w * z[q + 2]
      }
      const inv = 1 / diag[k]
      z[k * 3] = a0 * inv
      z[k * 3 + 1] = a1 * inv
      z[k * 3 + 2] = a2 * inv
    }
    return
  }
  for (let i = 0; i < n; i++) {
    const k = forward ? i : n - 1 - i
    const e0 = start[k]
    const e1 = start[k + 1]
    const inv = 1 / diag[k]
    for (let c = 0; c < m; c++) {
      let acc = r[k * m + c]
      for (let j = e0; j < e1; j++) acc += wts[j] * z[nbr[j] * m + c]
      z[k * m + c] = acc * inv
    }
  }
}

/** One V-cycle: an approximate solve of M z = r (the coarser levels use their own buffers). */
function vcycle(l: Level, r: Float64Array, z: Float64Array, m: number): void {
  const coarse = l.coarse
  if (!coarse) {
    coarseSolve(l, r, z, m)
    return
  }
  const { n, start, mid, nbr, wts } = l
  z.fill(0)
  gaussSeidel(l, r, z, m, true)
  // After one forward sweep from zero, d_k z_k - sum over lower neighbours w z_j = r_k, so the
  // residual r - M z at k is the sum over its upper neighbours alone; restricted (P^T) as it is formed.
  const pStart = l.pStart!
  const pIdx = l.pIdx!
  const pw = l.pw!
  const rc = coarse.r
  const res = l.res
  rc.fill(0)
  if (m === 3) {
    for (let k = 0; k < n; k++) {
      let a0 = 0
      let a1 = 0
      let a2 = 0
      for (let j = mid[k]; j < start[k + 1]; j++) {
        const w = wts[j]
        const q = nbr[j] * 3
        a0 += w * z[q]
        a1 += w * z[q + 1]
        a2 += w * z[q + 2]
      }
      for (let s = pStart[k]; s < pStart[k + 1]; s++) {
        const I = pIdx[s] * 3
        const wt = pw[s]
        rc[I] += wt * a0
        rc[I + 1] += wt * a1
        rc[I + 2] += wt * a2
      }
    }
  } else {
    for (let k = 0; k < n; k++) {
      for (let c = 0; c < m; c++) {
        let acc = 0
        for (let j = mid[k]; j < start[k + 1]; j++) acc += wts[j] * z[nbr[j] * m + c]
        res[c] = acc
      }
      for (let s = pStart[k]; s < pStart[k + 1]; s++) {
        const I = pIdx[s] * m
        const wt = pw[s]
        for (let c = 0; c < m; c++) rc[I + c] += wt * res[c]
      }
    }
  }
  const zc = coarse.z
  vcycle(coarse, rc, zc, m)
  if (m === 3) {
    for (let k = 0; k < n; k++) {
      let a0 = 0
      let a1 = 0
      let a2 = 0
      for (let s = pStart[k]; s < pStart[k + 1]; s++) {
        const I = pIdx[s] * 3
        const wt = pw[s]
        a0 += wt * zc[I]
        a1 += wt * zc[I + 1]
        a2 += wt * zc[I + 2]
      }
      z[k * 3] += a0
      z[k * 3 + 1] += a1
      z[k * 3 + 2] += a2
    }
  } else {
    for (let k = 0; k < n; k++) {
      for (let s = pStart[k]; s < pStart[k + 1]; s++) {
        const I = pIdx[s] * m
        const wt = pw[s]
        for (let c = 0; c < m; c++) z[k * m + c] += wt * zc[I + c]
      }
    }
  }
  gaussSeidel(l, r, z, m, false)
}

/** The coarsest level: Cholesky solve; a symmetric Gauss-Seidel sweep when it is large; diagonal CG to a tight tolerance when it is small but has no factor. */
function coarseSolve(l: Level, r: Float64Array, z: Float64Array, m: number): void {
  const { n, chol: a } = l
  if (!a && n > COARSEST) {
    // A large level that did not coarsen (scattered pixels, nearly diagonal): symmetric Gauss-Seidel.
    z.fill(0)
    gaussSeidel(l, r, z, m, true)
    gaussSeidel(l, r, z, m, false)
    return
  }
  if (!a) {
    cg(l, r, z, m, null, 1e-10, 2000)
    return
  }
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let s = r[i * m + c]
      for (let t = 0; t < i; t++) s -= a[i * n + t] * z[t * m + c]
      z[i * m + c] = a[i * n + i] ? s / a[i * n + i] : 0
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = z[i * m + c]
      for (let t = i + 1; t < n; t++) s -= a[t * n + i] * z[t * m + c]
      z[i * m + c] = a[i * n + i] ? s / a[i * n + i] : 0
    }
  }
}

/** out[c] = sum over unknowns of a * b in channel c. */
function dots(a: Float64Array, b: Float64Array, out: Float64Array, m: number): void {
  const len = a.length
  if (m === 3) {
    let s0 = 0
    let s1 = 0
    let s2 = 0
    for (let i = 0; i < len; i += 3) {
      s0 += a[i] * b[i]
      s1 += a[i + 1] * b[i + 1]
      s2 += a[i + 2] * b[i + 2]
    }
    out[0] = s0
    out[1] = s1
    out[2] = s2
    return
  }
  out.fill(0)
  for (let i = 0; i < len; i += m) for (let c = 0; c < m; c++) out[c] += a[i + c] * b[i + c]
}

/**
 * Preconditioned conjugate gradients on level l from zero for m right-hand sides at once (each with
 * its own step sizes), each to `tol` relative residual; a channel that has converged is left as it is.
 * `precond` null: diagonal preconditioning; otherwise the V-cycle of that level.
 */
function cg(l: Level, b: Float64Array, x: Float64Array, m: number, precond: Level | null, tol: number, maxIter: number): void {
  const n = l.n
  const len = n * m
  x.fill(0)
  const r = Float64Array.from(b)
  const z = new Float64Array(len)
  const p = new Float64Array(len)
  const ap = new Float64Array(len)
  const bNorm = new Float64Array(m)
  const rz = new Float64Array(m)
  const pap = new Float64Array(m)
  const rr = new Float64Array(m)
  const alpha = new Float64Array(m)
  const live = new Uint8Array(m)
  let left = 0
  dots(b, b, bNorm, m)
  for (let c = 0; c < m; c++) {
    bNorm[c] = Math.sqrt(bNorm[c])
    live[c] = bNorm[c] > 0 ? 1 : 0
    left += live[c]
  }
  if (!left) return
  const precondInto = (): void => {
    if (precond) vcycle(precond, r, z, m)
    else {
      const diag = l.diag
      for (let k = 0; k < n; k++) for (let c = 0; c < m; c++) z[k * m + c] = r[k * m + c] / diag[k]
    }
  }
  precondInto()
  p.set(z)
  dots(r, z, rz, m)
  for (let it = 0; it < maxIter; it++) {
    apply(l, p, ap, m)
    dots(p, ap, pap, m)
    for (let c = 0; c < m; c++) {
      if (live[c] && !(pap[c] > 0)) {
        live[c] = 0
        left--
      }
      alpha[c] = live[c] ? rz[c] / pap[c] : 0
    }
    if (!left) break
    rr.fill(0)
    for (let k = 0; k < n; k++) {
      for (let c = 0; c < m; c++) {
        const i = k * m + c
        x[i] += alpha[c] * p[i]
        r[i] -= alpha[c] * ap[i]
        rr[c] += r[i] * r[i]
      }
    }
    for (let c = 0; c < m; c++) {
      if (live[c] && Math.sqrt(rr[c]) <= tol * bNorm[c]) {
        live[c] = 0
        left--
      }
    }
    if (!left) break
    precondInto()
    for (let c = 0; c < m; c++) pap[c] = rz[c]
    dots(r, z, rz, m)
    for (let k = 0; k < n; k++) {
      for (let c = 0; c < m; c++) {
        const i = k * m + c
        p[i] = z[i] + (live[c] ? rz[c] / pap[c] : 0) * p[i]
      }
    }
  }
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
  const solve = harmonicSolverChannels(removed, H, W, 1)
  return (vals) => solve(vals)
}

/**
 * The solver for one mask and m channels solved together: `vals` and the result hold pixel p's
 * channel c at p * m + c (values at removed pixels are ignored). Each channel is solved as by
 * solveHarmonic, to 1e-8 relative residual of its own right-hand side.
 */
export function harmonicSolverChannels(removed: Uint8Array, H: number, W: number, m: number): (vals: Float64Array) => Float64Array {
  const grid = fineGrid(removed, H, W)
  const { pixels, unknown } = grid
  const level = buildLevel(grid, m)
  return (vals) => {
    const out = Float64Array.from(vals)
    const n = level.n
    if (!n) return out
    const b = new Float64Array(n * m)
    for (let k = 0; k < n; k++) {
      const p = pixels[k]
      const y = (p / W) | 0
      const x = p - y * W
      for (let s = 0; s < 8; s++) {
        const nb = NEIGHBOURS[s]
        const ny = y + nb[0]
        const nx = x + nb[1]
        if (ny < 0 || nx < 0 || ny >= H || nx >= W) continue
        const q = ny * W + nx
        if (unknown[q] >= 0) continue
        for (let c = 0; c < m; c++) b[k * m + c] += nb[2] * vals[q * m + c]
      }
    }
    const v = new Float64Array(n * m)
    cg(level, b, v, m, level, 1e-8, 500)
    for (let k = 0; k < n; k++) for (let c = 0; c < m; c++) out[pixels[k] * m + c] = v[k * m + c]
    return out
  }
}
