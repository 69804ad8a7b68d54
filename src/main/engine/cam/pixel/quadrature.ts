/**
 * Integrated Gradients' path rules: points alpha in [0, 1] and weights summing to 1, so that
 * IG = (x - x') * sum_k w_k * grad F(x' + alpha_k (x - x')). As Captum's `approximation_methods`:
 * `trapezoid` is the Riemann trapezoid rule on linspace(0, 1, n); `gausslegendre` is n-point
 * Gauss-Legendre on [-1, 1] (numpy's leggauss) moved to [0, 1].
 */
export function pathRule(method: 'gausslegendre' | 'trapezoid', n: number): { alphas: Float64Array; weights: Float64Array } {
  if (!Number.isInteger(n) || n < 2) throw new Error(`A path rule needs at least 2 points, not ${n}.`)
  const alphas = new Float64Array(n)
  const weights = new Float64Array(n)
  if (method === 'trapezoid') {
    for (let k = 0; k < n; k++) {
      alphas[k] = k / (n - 1)
      weights[k] = (k === 0 || k === n - 1 ? 0.5 : 1) / (n - 1)
    }
    return { alphas, weights }
  }
  const [nodes, w] = gaussLegendre(n)
  for (let k = 0; k < n; k++) {
    alphas[k] = 0.5 * (1 + nodes[k])
    weights[k] = 0.5 * w[k]
  }
  return { alphas, weights }
}

/** P_n(z) and P_n'(z), by the three-term recurrence. */
function legendre(n: number, z: number): { p: number; dp: number } {
  let p0 = 1
  let p1 = z
  for (let k = 2; k <= n; k++) {
    const p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k
    p0 = p1
    p1 = p2
  }
  return { p: p1, dp: (n * (z * p1 - p0)) / (z * z - 1) }
}

/** n-point Gauss-Legendre nodes (ascending) and weights on [-1, 1]: Newton's method on P_n from Chebyshev guesses. */
export function gaussLegendre(n: number): [Float64Array, Float64Array] {
  const x = new Float64Array(n)
  const w = new Float64Array(n)
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let z = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5))
    for (let iter = 0; iter < 100; iter++) {
      const { p, dp } = legendre(n, z)
      const dz = p / dp
      z -= dz
      if (Math.abs(dz) < 1e-15) break
    }
    // The derivative at the converged node, for the weight.
    const { dp } = legendre(n, z)
    const weight = 2 / ((1 - z * z) * dp * dp)
    x[i] = -z
    x[n - 1 - i] = z
    w[i] = weight
    w[n - 1 - i] = weight
  }
  if (n % 2 === 1) x[(n - 1) / 2] = 0
  return [x, w]
}
