/**
 * Eigenvalues and eigenvectors of a real symmetric matrix: Householder reduction to tridiagonal form,
 * then the implicit QL method (tred2 / tql2 of EISPACK, in the form of JAMA's public-domain
 * EigenvalueDecomposition). O(n^3): fine for the position x position kernel matrices of KPCA-CAM at
 * the usual CAM layers (7x7 to 28x28 positions).
 *
 * `a` is row-major n x n (only read). Returns the eigenvalues ascending and the eigenvectors as the
 * columns of `vectors` (row-major n x n), vector j belonging to value j.
 */
export function symmetricEigen(a: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  const V = Float64Array.from(a)
  const d = new Float64Array(n)
  const e = new Float64Array(n)
  if (n === 0) return { values: d, vectors: V }
  tred2(V, d, e, n)
  tql2(V, d, e, n)
  return { values: d, vectors: V }
}

function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j]
  for (let i = n - 1; i > 0; i--) {
    let scale = 0
    let h = 0
    for (let k = 0; k < i; k++) scale += Math.abs(d[k])
    if (scale === 0) {
      e[i] = d[i - 1]
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j]
        V[i * n + j] = 0
        V[j * n + i] = 0
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale
        h += d[k] * d[k]
      }
      let f = d[i - 1]
      let g = Math.sqrt(h)
      if (f > 0) g = -g
      e[i] = scale * g
      h -= f * g
      d[i - 1] = f - g
      for (let j = 0; j < i; j++) e[j] = 0
      for (let j = 0; j < i; j++) {
        f = d[j]
        V[j * n + i] = f
        g = e[j] + V[j * n + j] * f
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * d[k]
          e[k] += V[k * n + j] * f
        }
        e[j] = g
      }
      f = 0
      for (let j = 0; j < i; j++) {
        e[j] /= h
        f += e[j] * d[j]
      }
      const hh = f / (h + h)
      for (let j = 0; j < i; j++) e[j] -= hh * d[j]
      for (let j = 0; j < i; j++) {
        f = d[j]
        g = e[j]
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k]
        d[j] = V[(i - 1) * n + j]
        V[i * n + j] = 0
      }
    }
    d[i] = h
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i]
    V[i * n + i] = 1
    const h = d[i + 1]
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h
      for (let j = 0; j <= i; j++) {
        let g = 0
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j]
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k]
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j]
    V[(n - 1) * n + j] = 0
  }
  V[(n - 1) * n + n - 1] = 1
  e[0] = 0
}

function tql2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]
  e[n - 1] = 0
  let f = 0
  let tst1 = 0
  const eps = 2 ** -52
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]))
    let m = l
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++
    if (m > l) {
      let iter = 0
      do {
        if (++iter > 60) throw new Error('symmetricEigen: no convergence')
        let g = d[l]
        let p = (d[l + 1] - g) / (2 * e[l])
        let r = Math.hypot(p, 1)
        if (p < 0) r = -r
        d[l] = e[l] / (p + r)
        d[l + 1] = e[l] * (p + r)
        const dl1 = d[l + 1]
        let h = g - d[l]
        for (let i = l + 2; i < n; i++) d[i] -= h
        f += h
        p = d[m]
        let c = 1
        let c2 = c
        let c3 = c
        const el1 = e[l + 1]
        let s = 0
        let s2 = 0
        for (let i = m - 1; i >= l; i--) {
          c3 = c2
          c2 = c
          s2 = s
          g = c * e[i]
          h = c * p
          r = Math.hypot(p, e[i])
          e[i + 1] = s * r
          s = e[i] / r
          c = p / r
          p = c * d[i] - s * g
          d[i + 1] = h + s * (c * g + s * d[i])
          for (let k = 0; k < n; k++) {
            h = V[k * n + i + 1]
            V[k * n + i + 1] = s * V[k * n + i] + c * h
            V[k * n + i] = c * V[k * n + i] - s * h
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1
        e[l] = s * p
        d[l] = c * p
      } while (Math.abs(e[l]) > eps * tst1)
    }
    d[l] += f
    e[l] = 0
  }
  // Ascending order.
  for (let i = 0; i < n - 1; i++) {
    let k = i
    let p = d[i]
    for (let j = i + 1; j < n; j++) if (d[j] < p) [k, p] = [j, d[j]]
    if (k !== i) {
      d[k] = d[i]
      d[i] = p
      for (let j = 0; j < n; j++) [V[j * n + i], V[j * n + k]] = [V[j * n + k], V[j * n + i]]
    }
  }
}

/** Up to this size the dense solver is quick (about 0.1 s at 196 x 196); above it, Lanczos. */
const DENSE_MAX = 256

/**
 * The largest eigenvalue of a real symmetric matrix (row-major n x n) and a unit eigenvector of it.
 * Dense (symmetricEigen) for small n; above DENSE_MAX, Lanczos with full reorthogonalisation, which
 * needs a few dozen products with the matrix instead of O(n^3) work (KPCA-CAM at 56 x 56 positions:
 * n = 3,136), stopped when the Ritz pair's residual |beta_j y_j| is below 1e-12 of the matrix's scale.
 */
export function topEigenpair(a: ArrayLike<number>, n: number): { value: number; vector: Float64Array } {
  if (n <= DENSE_MAX) {
    const { values, vectors } = symmetricEigen(a, n)
    const vector = new Float64Array(n)
    for (let i = 0; i < n; i++) vector[i] = vectors[i * n + n - 1]
    return { value: values[n - 1], vector }
  }
  return lanczosTop(a, n)
}

function lanczosTop(a: ArrayLike<number>, n: number): { value: number; vector: Float64Array } {
  let scale = 0
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(a[i]))
  scale *= n // bounds the spectral radius
  const maxSteps = Math.min(n, 600)
  const q: Float64Array[] = []
  const alpha: number[] = []
  const beta: number[] = []
  // A fixed pseudo-random start (not the ones vector: a centred kernel matrix maps it to 0).
  let s = 12345
  let v = Float64Array.from({ length: n }, () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5)
  normalise(v)
  let best: { value: number; y: Float64Array } = { value: 0, y: new Float64Array([1]) }
  // The Ritz pair costs O(m^3): checked at geometrically spaced m, so the checks cost about what the last one does.
  let check = 8
  for (let j = 0; j < maxSteps; j++) {
    q.push(v)
    const w = new Float64Array(n)
    for (let r = 0; r < n; r++) {
      let sum = 0
      const off = r * n
      for (let c = 0; c < n; c++) sum += a[off + c] * v[c]
      w[r] = sum
    }
    alpha.push(dot(v, w))
    // Full reorthogonalisation, twice ("twice is enough"), keeps the basis orthogonal in floating point.
    for (let pass = 0; pass < 2; pass++) {
      for (const qi of q) {
        const d = dot(qi, w)
        for (let r = 0; r < n; r++) w[r] -= d * qi[r]
      }
    }
    const b = Math.sqrt(dot(w, w))
    const m = j + 1
    const done = b <= 1e-14 * scale || m === maxSteps
    if (done || m === check) {
      check = Math.ceil(check * 1.25)
      best = ritzTop(alpha, beta, m)
      if (done || Math.abs(b * best.y[m - 1]) <= 1e-12 * scale) break
    }
    beta.push(b)
    v = w.map((x) => x / b)
  }
  const vector = new Float64Array(n)
  best.y.forEach((yi, i) => {
    for (let r = 0; r < n; r++) vector[r] += yi * q[i][r]
  })
  normalise(vector)
  return { value: best.value, vector }
}

/** The largest eigenpair of the m x m tridiagonal matrix (alpha on the diagonal, beta beside it). */
function ritzTop(alpha: number[], beta: number[], m: number): { value: number; y: Float64Array } {
  const t = new Float64Array(m * m)
  for (let i = 0; i < m; i++) {
    t[i * m + i] = alpha[i]
    if (i + 1 < m) t[i * m + i + 1] = t[(i + 1) * m + i] = beta[i]
  }
  const { values, vectors } = symmetricEigen(t, m)
  const y = new Float64Array(m)
  for (let i = 0; i < m; i++) y[i] = vectors[i * m + m - 1]
  return { value: values[m - 1], y }
}

function dot(x: Float64Array, y: Float64Array): number {
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i] * y[i]
  return s
}

function normalise(x: Float64Array): void {
  const norm = Math.sqrt(dot(x, x)) || 1
  for (let i = 0; i < x.length; i++) x[i] /= norm
}
