import { ApiError } from '../../../src/shared/errors'
import { GraphIndex, type IrNode } from '../../../src/main/engine/onnx/ir'
import { graphOf, type ModelProto } from '../../../src/main/engine/onnx/model-file'
import { DataType, type ConstTensor, type TensorArray } from '../../../src/main/engine/onnx/tensor-data'
import { PURE_JS_LIMITS, tfjsBackend, type Tensor, type TfjsBackend } from './backend'
import { OpContext } from './op-context'
import { TFJS_OPS } from './ops'

/** A tensor on the host: what callers feed and get back (ort.Tensor has this shape too). */
export interface HostTensor {
  data: TensorArray
  dims: readonly number[]
}

export interface HostOutput {
  data: Float32Array | Int32Array | Uint8Array
  dims: number[]
}

export interface TfjsExecutorOptions {
  /** Names the model in messages (its file name). */
  label?: string
  /** A backend already loaded (defaults to the best present, see tfjs-backend.ts). */
  backend?: TfjsBackend
  /** Overrides the pure-JS backend's limits (native backends have none). */
  limits?: { flops: number; params: number }
}

export interface GradientRequest {
  feeds: Record<string, HostTensor>
  /** Graph inputs, weights (initializers) or intermediate tensors (a layer's activation). */
  wrt: string[]
  /** Seed per output tensor: the loss is sum_o <seed_o, output_o>, so the results are vector-Jacobian products. */
  seeds: Record<string, HostTensor>
}

export interface GradientResult {
  loss: number
  grads: Record<string, HostOutput>
}

const INT32_MAX = 2147483647

const formatFlops = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} GFLOPs` : `${Math.round(n / 1e6)} MFLOPs`)
const formatCount = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : `${Math.round(n / 1e3)} k`)

/** A constant as a tfjs tensor: floats as float32, integers as int32 (int64 extremes such as INT64_MAX clamp). */
function constToTensor(b: TfjsBackend, c: ConstTensor): Tensor {
  const { tf } = b
  switch (c.dataType) {
    case DataType.FLOAT:
    case DataType.DOUBLE:
      return tf.tensor(Float32Array.from(c.data as ArrayLike<number>), c.dims, 'float32')
    case DataType.BOOL:
      return tf.tensor(Uint8Array.from(c.data as ArrayLike<number>), c.dims, 'bool')
    default:
      return tf.tensor(
        Int32Array.from(c.data as ArrayLike<number | bigint>, (v) => Math.max(-INT32_MAX, Math.min(INT32_MAX, Number(v)))),
        c.dims,
        'int32'
      )
  }
}

/**
 * Runs an ONNX graph (the engine's IR) with tfjs ops, node by node in graph order, and differentiates it
 * with tf.grad: the independent reference for the VJP rules, and a compute path of its own where a
 * native tfjs backend is present.
 */
export class TfjsExecutor {
  private disposed = false
  /** Estimated FLOPs (2 x multiply-adds of convolutions and matrix products) of the last run, backward counted as 2x forward. */
  lastFlops = 0

  private constructor(
    readonly index: GraphIndex,
    readonly backend: TfjsBackend,
    private readonly constants: Map<string, Tensor>,
    private readonly boolInputs: Set<string>,
    readonly label: string,
    private readonly limits: { flops: number; params: number }
  ) {}

  static async create(model: ModelProto | GraphIndex, opts: TfjsExecutorOptions = {}): Promise<TfjsExecutor> {
    const backend = opts.backend ?? (await tfjsBackend())
    const index = model instanceof GraphIndex ? model : new GraphIndex(model)
    const label = opts.label ?? (graphOf(index.model).name || 'the model')
    for (const n of index.nodes) {
      const domain = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.` : ''
      if (domain || !TFJS_OPS[n.opType]) {
        throw new ApiError(
          'unsupported',
          `The tfjs executor has no implementation of ${domain}${n.opType} (node ${n.name}) in ${label}; onnxruntime runs this model.`
        )
      }
    }
    const limits = backend.pureJs ? (opts.limits ?? PURE_JS_LIMITS) : { flops: Infinity, params: Infinity }
    const graph = graphOf(index.model)
    const floatTypes: number[] = [DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16]
    const params = graph.initializer.reduce(
      (sum, t) => sum + (floatTypes.includes(t.dataType ?? 0) ? (t.dims ?? []).reduce((p: number, d) => p * Number(d), 1) : 0),
      0
    )
    if (params > limits.params) {
      throw new ApiError(
        'unsupported',
        `${label} has ${formatCount(params)} weights; the pure-JS tfjs cpu backend runs models up to ` +
          `${formatCount(limits.params)} (${backend.reason}). Install @tensorflow/tfjs-node for larger models, or use onnxruntime.`,
        label
      )
    }
    const constants = new Map<string, Tensor>()
    const names = [...index.initializerNames, ...index.nodes.filter((n) => n.opType === 'Constant').map((n) => n.outputs[0])]
    for (const name of names) {
      const c = index.constant(name)
      if (c) constants.set(name, constToTensor(backend, c))
    }
    const boolInputs = new Set(graph.input.filter((i) => i.type?.tensorType?.elemType === DataType.BOOL).map((i) => i.name ?? ''))
    return new TfjsExecutor(index, backend, constants, boolInputs, label, limits)
  }

  private get tf() {
    if (this.disposed) throw new ApiError('internal', `The tfjs executor for ${this.label} was disposed.`)
    return this.backend.tf
  }

  /** Host arrays to tfjs tensors, in the dtype the graph expects. */
  private toTensors(feeds: Record<string, HostTensor>): Map<string, Tensor> {
    const tf = this.tf
    const out = new Map<string, Tensor>()
    for (const [name, v] of Object.entries(feeds)) {
      const dims = [...v.dims]
      if (v.data instanceof Float32Array || v.data instanceof Float64Array) out.set(name, tf.tensor(Float32Array.from(v.data), dims, 'float32'))
      else if (this.boolInputs.has(name)) out.set(name, tf.tensor(Uint8Array.from(v.data as ArrayLike<number>), dims, 'bool'))
      else out.set(name, constToTensor(this.backend, { dataType: DataType.INT64, dims, data: v.data }))
    }
    return out
  }

  /** The nodes that compute `targets` from what is `known`, in graph order. */
  private plan(targets: string[], known: Set<string>): IrNode[] {
    const needed = new Set<number>()
    const stack = [...targets]
    const seen = new Set<string>()
    while (stack.length) {
      const t = stack.pop()!
      if (!t || seen.has(t) || known.has(t)) continue
      seen.add(t)
      const p = this.index.producer.get(t)
      if (!p) {
        const what = this.index.inputNames.includes(t) ? `graph input ${t} was not fed` : `no node produces tensor ${t}`
        throw new ApiError('invalid-arguments', `Cannot compute ${targets.join(', ')} of ${this.label}: ${what}.`)
      }
      needed.add(p.index)
      stack.push(...p.inputs)
    }
    return this.index.nodes.filter((n) => needed.has(n.index))
  }

  /**
   * Evaluates the graph up to `targets`. Tensors in `given` (feeds, and leaves that tf.grad
   * differentiates) replace whatever the graph would compute for them. `flopsFactor` scales the cost
   * counted against the pure-JS limit (3 for a forward plus backward pass).
   */
  private evaluate(given: Map<string, Tensor>, targets: string[], flopsFactor: number, probes = new Map<string, Tensor>()): Map<string, Tensor> {
    const tf = this.tf
    const env = new Map<string, Tensor>(this.constants)
    for (const [k, v] of given) env.set(k, v)
    let flops = 0
    const cost = (f: number) => {
      flops += f * flopsFactor
      this.lastFlops = flops
      if (flops > this.limits.flops) {
        throw new ApiError(
          'unsupported',
          `${this.label} needs more than ${formatFlops(this.limits.flops)} for this run, too many for the pure-JS ` +
            `tfjs cpu backend (${this.backend.reason}). Use onnxruntime, a smaller batch or input, or install @tensorflow/tfjs-node.`,
          this.label
        )
      }
    }
    const nodes = this.plan(targets, new Set(env.keys()))
    // Outputs an implementation leaves out (statistics of training mode, masks) are an error only when read.
    const read = new Set([...targets, ...nodes.flatMap((n) => n.inputs)])
    for (const node of nodes) {
      const inputs = node.inputs.map((i) => (i ? env.get(i) : undefined))
      const ctx = new OpContext(tf, node, this.index.opset, inputs, cost)
      let result: ReturnType<(typeof TFJS_OPS)[string]>
      try {
        result = TFJS_OPS[node.opType](ctx)
      } catch (err) {
        if (err instanceof ApiError) throw err
        throw new ApiError('internal', `${node.opType} node ${node.name} failed in tfjs: ${(err as Error).message}`, this.label)
      }
      const outs = Array.isArray(result) ? result : [result]
      node.outputs.forEach((o, i) => {
        if (!o || given.has(o) || (!outs[i] && !read.has(o))) return
        const t = outs[i] ?? ctx.fail(`its output ${i} (${o}) is read, and this executor does not compute it`)
        const probe = probes.get(o)
        env.set(o, probe ? tf.add(t, probe) : t)
      })
    }
    return env
  }

  private readBack(t: Tensor): HostOutput {
    return { data: t.dataSync() as HostOutput['data'], dims: [...t.shape] }
  }

  /** A forward pass; returns the graph outputs, or any tensors named in `fetches`. */
  run(feeds: Record<string, HostTensor>, fetches: string[] = this.index.outputNames): Record<string, HostOutput> {
    const tf = this.tf
    const fed = this.toTensors(feeds)
    try {
      const tensors = tf.tidy(() => {
        const env = this.evaluate(fed, fetches, 1)
        return fetches.map((f) => env.get(f)!)
      })
      const out: Record<string, HostOutput> = {}
      fetches.forEach((f, i) => (out[f] = this.readBack(tensors[i])))
      tf.dispose(tensors)
      return out
    } finally {
      tf.dispose([...fed.values()])
    }
  }

  /**
   * Vector-Jacobian products by tf.grads: d(sum_o <seed_o, output_o>) / d(wrt). Fed inputs and weights
   * are differentiated as they are; an intermediate tensor (a layer's activation, as Grad-CAM needs) gets
   * a zero leaf added where its node computes it, whose gradient is the tensor's, so gradients with
   * respect to tensors upstream of it still flow through it (as onnxruntime's backward graph computes them).
   */
  gradients(req: GradientRequest): GradientResult {
    const tf = this.tf
    const fed = this.toTensors(req.feeds)
    const outputs = Object.keys(req.seeds)
    const seeds = new Map(outputs.map((o) => [o, tf.tensor(Float32Array.from(req.seeds[o].data as ArrayLike<number>), [...req.seeds[o].dims])]))
    const inner = req.wrt.filter((w) => !fed.has(w) && !this.constants.has(w))
    // The zero leaves take the intermediate tensors' shapes, from a forward pass up to them.
    const zeros = inner.length
      ? tf.tidy(() => {
          const env = this.evaluate(fed, inner, 1)
          return inner.map((w) => {
            const t = env.get(w)!
            if (t.dtype !== 'float32') throw new ApiError('invalid-arguments', `${w} is ${t.dtype}; gradients exist for float tensors only.`, this.label)
            return tf.zerosLike(t)
          })
        })
      : []
    try {
      const leaves = req.wrt.map((w) => fed.get(w) ?? this.constants.get(w) ?? zeros[inner.indexOf(w)]!)
      leaves.forEach((t, i) => {
        if (t.dtype !== 'float32') throw new ApiError('invalid-arguments', `${req.wrt[i]} is ${t.dtype}; gradients exist for float tensors only.`, this.label)
      })
      const loss = (...xs: Tensor[]) => {
        const given = new Map(fed)
        const probes = new Map<string, Tensor>()
        req.wrt.forEach((w, i) => (inner.includes(w) ? probes : given).set(w, xs[i]))
        const env = this.evaluate(given, outputs, 3, probes)
        return outputs.map((o) => tf.sum(tf.mul(env.get(o)!, seeds.get(o)!))).reduce((a, b) => tf.add(a, b)) as ReturnType<typeof tf.scalar>
      }
      let result: { value: Tensor; grads: Tensor[] }
      try {
        result = tf.tidy(() => {
          const { value, grads } = tf.valueAndGrads(loss)(leaves)
          return { value, grads }
        })
      } catch (err) {
        if (err instanceof ApiError) throw err
        const message = (err as Error).message
        if (/Cannot compute gradient/.test(message)) {
          throw new ApiError('unsupported', `Some of ${req.wrt.join(', ')} do not influence ${outputs.join(', ')} in ${this.label}, so they have no gradient.`, this.label)
        }
        throw new ApiError('internal', `tf.grad failed on ${this.label}: ${message}`, this.label)
      }
      const grads: Record<string, HostOutput> = {}
      req.wrt.forEach((w, i) => (grads[w] = this.readBack(result.grads[i])))
      const value = result.value.dataSync()[0]
      tf.dispose([result.value, ...result.grads])
      return { loss: value, grads }
    } finally {
      tf.dispose([...fed.values(), ...seeds.values(), ...zeros])
    }
  }

  dispose(): void {
    if (this.disposed) return
    this.backend.tf.dispose([...this.constants.values()])
    this.disposed = true
  }
}
