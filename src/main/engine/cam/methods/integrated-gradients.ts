import { sumChannels } from '../pixel/channels'
import { pathRule } from '../pixel/quadrature'
import type { PixelMethodModule } from './base'

/**
 * Integrated Gradients (Sundararajan et al. 2017): (x - x') * integral over alpha of
 * d S_c(x' + alpha (x - x')) / d x, by `steps` points of the chosen rule, batched (one run per chunk,
 * not one per step). The baseline's own score comes with the first chunk, for the completeness error
 * sum(attribution) - (S_c(x) - S_c(x')) that Captum calls the convergence delta.
 */
export const integratedGradients: PixelMethodModule = {
  id: 'integratedgradients',
  kind: 'pixel',
  imageGradient: false,
  attribute: async (x) => {
    const { alphas, weights } = pathRule(x.params.integration, x.params.steps)
    const base = x.baseline()
    const n = x.input.length
    const points: Float32Array[] = [base]
    for (const a of alphas) {
      const p = new Float32Array(n)
      for (let i = 0; i < n; i++) p[i] = base[i] + a * (x.input[i] - base[i])
      points.push(p)
    }
    const { grads, scores } = await x.gradients(points)
    const sum = new Float64Array(n)
    for (let k = 0; k < alphas.length; k++) {
      const g = grads[k + 1]
      const w = weights[k]
      for (let i = 0; i < n; i++) sum[i] += w * g[i]
    }
    const attribution = new Float32Array(n)
    let total = 0
    for (let i = 0; i < n; i++) {
      const v = (x.input[i] - base[i]) * sum[i]
      attribution[i] = v
      total += v
    }
    const delta = x.score - scores[0]
    return { attribution, map: sumChannels(attribution, x.chw, x.layout), completeness: { error: total - delta, delta } }
  }
}
