import { onnx } from 'onnx-proto'
import { graphOf, toNumber, type ModelProto } from './model-file'
import { decodeTensor, type ConstTensor } from './tensor-data'

const AT = onnx.AttributeProto.AttributeType

export type AttrValue = number | string | number[] | string[] | ConstTensor

/** A node with attributes decoded to plain values; rules read these, never protobuf objects. */
export interface IrNode {
  index: number
  name: string
  opType: string
  domain: string
  inputs: string[]
  outputs: string[]
  attrs: Record<string, AttrValue>
}

export function decodeAttr(a: onnx.IAttributeProto): AttrValue | undefined {
  switch (a.type) {
    case AT.FLOAT:
      return a.f ?? 0
    case AT.INT:
      return toNumber(a.i)
    case AT.STRING:
      return new TextDecoder().decode(a.s ?? new Uint8Array())
    case AT.FLOATS:
      return [...(a.floats ?? [])]
    case AT.INTS:
      return (a.ints ?? []).map(toNumber)
    case AT.STRINGS:
      return (a.strings ?? []).map((s) => new TextDecoder().decode(s))
    case AT.TENSOR:
      return a.t ? decodeTensor(a.t) : undefined
    default:
      return undefined // graphs and sparse tensors: not used by the ops we differentiate
  }
}

/**
 * A read-only index over a model's graph: nodes with decoded attributes, who produces and who
 * consumes each tensor, and constant values (initializers and Constant nodes) decoded on demand.
 */
export class GraphIndex {
  readonly nodes: IrNode[]
  readonly producer = new Map<string, IrNode>()
  readonly consumers = new Map<string, IrNode[]>()
  readonly initializerNames: Set<string>
  readonly inputNames: string[]
  readonly outputNames: string[]
  readonly opset: number
  private readonly constCache = new Map<string, ConstTensor | null>()

  constructor(readonly model: ModelProto) {
    const g = graphOf(model)
    this.initializerNames = new Set(g.initializer.map((t) => t.name ?? ''))
    this.inputNames = g.input.map((i) => i.name ?? '').filter((n) => !this.initializerNames.has(n))
    this.outputNames = g.output.map((o) => o.name ?? '')
    const ai = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')
    this.opset = ai ? toNumber(ai.version) : 1
    this.nodes = g.node.map((n, index) => {
      const attrs: Record<string, AttrValue> = {}
      for (const a of n.attribute ?? []) {
        const v = decodeAttr(a)
        if (v !== undefined && a.name) attrs[a.name] = v
      }
      return {
        index,
        name: n.name || `${n.opType}_${index}`,
        opType: n.opType ?? '',
        domain: n.domain ?? '',
        inputs: [...(n.input ?? [])],
        outputs: [...(n.output ?? [])],
        attrs
      }
    })
    for (const n of this.nodes) {
      for (const o of n.outputs) if (o) this.producer.set(o, n)
      for (const i of n.inputs) {
        if (!i) continue
        const list = this.consumers.get(i) ?? []
        list.push(n)
        this.consumers.set(i, list)
      }
    }
  }

  /** The constant value of a tensor, when it is an initializer or a Constant node's output. */
  constant(name: string): ConstTensor | null {
    if (this.constCache.has(name)) return this.constCache.get(name)!
    let value: ConstTensor | null = null
    if (this.initializerNames.has(name)) {
      const t = graphOf(this.model).initializer.find((x) => x.name === name)
      value = t ? decodeTensor(t) : null
    } else {
      const p = this.producer.get(name)
      if (p?.opType === 'Constant' && p.attrs.value && typeof p.attrs.value === 'object' && !Array.isArray(p.attrs.value)) {
        value = p.attrs.value as ConstTensor
      } else if (p?.opType === 'Identity') {
        value = this.constant(p.inputs[0])
      }
    }
    this.constCache.set(name, value)
    return value
  }

  isConstant(name: string): boolean {
    return this.constant(name) !== null
  }
}
