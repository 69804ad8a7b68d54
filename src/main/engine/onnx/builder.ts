import { onnx } from 'onnx-proto'
import { graphOf, type ModelProto } from './model-file'
import type { AttrValue } from './ir'
import { encodeTensor, f32, i64, type ConstTensor } from './tensor-data'

const AT = onnx.AttributeProto.AttributeType

function encodeAttr(name: string, v: AttrValue): onnx.AttributeProto {
  if (typeof v === 'number') {
    // An integral number is taken as INT; float attributes that may be integral use floatAttr().
    return Number.isInteger(v)
      ? onnx.AttributeProto.create({ name, type: AT.INT, i: v })
      : onnx.AttributeProto.create({ name, type: AT.FLOAT, f: v })
  }
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: AT.STRING, s: new TextEncoder().encode(v) })
  if (Array.isArray(v)) {
    if (v.length && typeof v[0] === 'string') {
      return onnx.AttributeProto.create({ name, type: AT.STRINGS, strings: (v as string[]).map((s) => new TextEncoder().encode(s)) })
    }
    return onnx.AttributeProto.create({ name, type: AT.INTS, ints: v as number[] })
  }
  return onnx.AttributeProto.create({ name, type: AT.TENSOR, t: encodeTensor(name, v) })
}

/** Float-typed attributes must say so: JS cannot tell 1.0 from 1. */
export const floatAttr = (value: number): { __float: number } => ({ __float: value })
export type BuilderAttr = AttrValue | { __float: number } | { __floats: number[] }

function encodeBuilderAttr(name: string, v: BuilderAttr): onnx.AttributeProto {
  if (v && typeof v === 'object' && '__float' in v) return onnx.AttributeProto.create({ name, type: AT.FLOAT, f: v.__float })
  if (v && typeof v === 'object' && '__floats' in v) return onnx.AttributeProto.create({ name, type: AT.FLOATS, floats: v.__floats })
  return encodeAttr(name, v as AttrValue)
}

export function encodeAttributes(attrs: Record<string, BuilderAttr>): onnx.AttributeProto[] {
  return Object.entries(attrs).map(([k, v]) => encodeBuilderAttr(k, v))
}

/**
 * Appends nodes, constants, inputs and outputs to a copy of a model, leaving the original nodes
 * untouched (so the forward pass stays exactly the one the user exported). Every name it makes is
 * prefixed `__ms/` so it cannot clash with the model's own tensors.
 */
export class GraphBuilder {
  private readonly nodes: onnx.NodeProto[] = []
  private readonly initializers: onnx.TensorProto[] = []
  private readonly extraInputs: onnx.ValueInfoProto[] = []
  private extraOutputs: onnx.ValueInfoProto[] = []
  private counter = 0
  private minOpset = 0

  constructor(private readonly model: ModelProto, private readonly prefix = '__ms') {}

  fresh(hint: string): string {
    return `${this.prefix}/${hint}_${this.counter++}`
  }

  /** Adds one node; returns its output names (fresh unless given). */
  node(opType: string, inputs: string[], attrs: Record<string, BuilderAttr> = {}, outputs: number | string[] = 1, domain = ''): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType)) : outputs
    this.nodes.push(
      onnx.NodeProto.create({
        name: this.fresh(`${opType}_node`),
        opType,
        domain,
        input: inputs,
        output: outs,
        attribute: encodeAttributes(attrs)
      })
    )
    return outs
  }

  /** Shorthand for single-output nodes. */
  op(opType: string, inputs: string[], attrs: Record<string, BuilderAttr> = {}): string {
    return this.node(opType, inputs, attrs, 1)[0]
  }

  constant(value: ConstTensor, hint = 'const'): string {
    return this.namedConstant(this.fresh(hint), value)
  }

  /** An initializer under a name the caller chose (weights of a model the engine writes). */
  namedConstant(name: string, value: ConstTensor): string {
    this.initializers.push(encodeTensor(name, value))
    return name
  }

  /** Appends an existing node as it is (graph-edit copies nodes of another graph through this). */
  rawNode(node: onnx.NodeProto): void {
    this.nodes.push(node)
  }

  constF32(values: ArrayLike<number>, dims: number[] = [values.length]): string {
    return this.constant(f32(values, dims), 'f32')
  }

  constI64(values: ArrayLike<number>, dims: number[] = [values.length]): string {
    return this.constant(i64(values, dims), 'i64')
  }

  addInput(name: string, elemType: number, shape: (number | string)[]): string {
    this.extraInputs.push(valueInfo(name, elemType, shape))
    return name
  }

  /** Exposes a tensor as a graph output (elem type and shape left for the runtime to infer). */
  addOutput(name: string, elemType = onnx.TensorProto.DataType.FLOAT): void {
    if (this.extraOutputs.some((o) => o.name === name)) return
    this.extraOutputs.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType } } }))
  }

  /** Replaces the graph's outputs with exactly these (in order). */
  setOutputs(names: string[], elemTypes: number[] = []): void {
    this.replaceOutputs = true
    this.extraOutputs = names.map((n, i) =>
      onnx.ValueInfoProto.create({ name: n, type: { tensorType: { elemType: elemTypes[i] ?? onnx.TensorProto.DataType.FLOAT } } })
    )
  }
  private replaceOutputs = false

  /** The default-domain opset the built model will declare. */
  get opset(): number {
    const ai = this.model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')
    return Math.max(ai ? Number(ai.version) : 1, this.minOpset)
  }

  /**
   * A Reduce* node in the form the opset wants: ReduceSum takes axes as an input from opset 13,
   * the other reductions only from opset 18 (attributes before).
   */
  reduce(op: 'ReduceSum' | 'ReduceMean' | 'ReduceMin' | 'ReduceMax', x: string, axes: number[], keepdims = 1): string {
    const asInput = op === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18
    return asInput ? this.op(op, [x, this.constI64(axes)], { keepdims }) : this.op(op, [x], { axes, keepdims })
  }

  requireOpset(version: number): void {
    this.minOpset = Math.max(this.minOpset, version)
  }

  build(): onnx.ModelProto {
    const g = graphOf(this.model)
    const node = [...g.node, ...this.nodes]
    // Weights no node reads (a replaced head, the parts of a model a copy skipped) would only make
    // onnxruntime warn; leave them out.
    const used = new Set(node.flatMap((n) => n.input ?? []))
    const initializer = [...g.initializer, ...this.initializers].filter((t) => used.has(t.name ?? ''))
    const graph = onnx.GraphProto.create({
      name: g.name,
      node,
      initializer,
      input: [...g.input, ...this.extraInputs],
      output: this.replaceOutputs ? this.extraOutputs : [...g.output, ...this.extraOutputs],
      // Shape annotations of intermediate tensors can go stale once outputs change; ORT re-infers.
      valueInfo: []
    })
    const opsetImport = this.model.opsetImport.map((o) =>
      !o.domain || o.domain === 'ai.onnx'
        ? onnx.OperatorSetIdProto.create({ domain: o.domain, version: Math.max(Number(o.version), this.minOpset) })
        : o
    )
    // Opset 16+ needs IR version >= 8; never lower what the file had.
    const irVersion = Math.max(Number(this.model.irVersion), this.minOpset >= 15 ? 8 : 7)
    return onnx.ModelProto.create({ ...this.model, irVersion, opsetImport, graph })
  }

  encode(): Uint8Array {
    return onnx.ModelProto.encode(this.build()).finish()
  }
}

export function valueInfo(name: string, elemType: number, shape: (number | string)[]): onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) }
      }
    }
  })
}
