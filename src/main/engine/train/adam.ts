/**
 * Adam (Kingma & Ba) on Float32Arrays, one state per parameter tensor, as torch.optim.Adam with no
 * weight decay: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr * m_hat / (sqrt(v_hat) + eps).
 */
export interface AdamOptions {
  lr: number
  beta1?: number
  beta2?: number
  eps?: number
}

export interface AdamState {
  step: number
  m: Float32Array[]
  v: Float32Array[]
}

export class Adam {
  readonly lr: number
  readonly beta1: number
  readonly beta2: number
  readonly eps: number
  state: AdamState

  constructor(sizes: number[], opts: AdamOptions) {
    this.lr = opts.lr
    this.beta1 = opts.beta1 ?? 0.9
    this.beta2 = opts.beta2 ?? 0.999
    this.eps = opts.eps ?? 1e-8
    this.state = { step: 0, m: sizes.map((n) => new Float32Array(n)), v: sizes.map((n) => new Float32Array(n)) }
  }

  /** Updates `params` in place from `grads` (same order and sizes as the constructor's). */
  step(params: Float32Array[], grads: Float32Array[]): void {
    const s = this.state
    s.step++
    const c1 = 1 - this.beta1 ** s.step
    const c2 = 1 - this.beta2 ** s.step
    const stepSize = this.lr / c1
    for (let t = 0; t < params.length; t++) {
      const p = params[t]
      const g = grads[t]
      const m = s.m[t]
      const v = s.v[t]
      for (let i = 0; i < p.length; i++) {
        m[i] = this.beta1 * m[i] + (1 - this.beta1) * g[i]
        v[i] = this.beta2 * v[i] + (1 - this.beta2) * g[i] * g[i]
        p[i] -= (stepSize * m[i]) / (Math.sqrt(v[i] / c2) + this.eps)
      }
    }
  }
}
