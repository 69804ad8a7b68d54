import { ApiError } from '../../../src/shared/errors'
import type { AttrValue, IrNode } from '../../../src/main/engine/onnx/ir'
import type { Tensor, Tf } from './backend'

/** What one op implementation sees: the node, its input tensors and readers for attributes and operands. */
export class OpContext {
  constructor(
    readonly tf: Tf,
    readonly node: IrNode,
    readonly opset: number,
    readonly inputs: (Tensor | undefined)[],
    /** Counts multiply-adds before a heavy op runs (the pure-JS backend refuses past its limit). */
    readonly cost: (flops: number) => void
  ) {}

  /** An error naming the op and node, for inputs or attributes this executor does not implement. */
  fail(problem: string): never {
    throw new ApiError('unsupported', `${this.node.opType} node ${this.node.name}: ${problem} (tfjs executor).`)
  }

  /** Whether optional input i is present (ONNX omits inputs with an empty name). */
  has(i: number): boolean {
    return this.inputs[i] !== undefined
  }

  /** Required input i. */
  x(i: number): Tensor {
    const t = this.inputs[i]
    if (!t) this.fail(`input ${i} is missing`)
    return t
  }

  /**
   * The values of an operand that steers the op (shape, axes, pads, scales): read back from the tensor,
   * which is cheap because such operands are tiny and usually constant. Null when the input is absent.
   */
  values(i: number): number[] | null {
    const t = this.inputs[i]
    return t ? Array.from(t.dataSync() as ArrayLike<number>) : null
  }

  /** A scalar operand (Clip bounds, Pad value), or the fallback when absent. */
  scalar(i: number, fallback: number): number {
    const v = this.values(i)
    if (v === null) return fallback
    if (v.length !== 1) this.fail(`input ${i} must hold one value, not ${v.length}`)
    return v[0]
  }

  private attr(name: string): AttrValue | undefined {
    return this.node.attrs[name]
  }

  int(name: string, fallback: number): number {
    const v = this.attr(name)
    return typeof v === 'number' ? v : fallback
  }

  float(name: string, fallback: number): number {
    return this.int(name, fallback)
  }

  ints(name: string): number[] | null {
    const v = this.attr(name)
    return Array.isArray(v) ? (v as number[]) : null
  }

  str(name: string, fallback: string): string {
    const v = this.attr(name)
    return typeof v === 'string' ? v : fallback
  }

  /** An axis attribute or value made non-negative for a tensor of the given rank. */
  axis(a: number, rank: number): number {
    const r = a < 0 ? a + rank : a
    if (r < 0 || r >= rank) this.fail(`axis ${a} is out of range for rank ${rank}`)
    return r
  }

  /** Axes from the attribute (older opsets) or from input i (newer ones). */
  axesFrom(attrName: string, i: number): number[] | null {
    return this.ints(attrName) ?? this.values(i)
  }
}

export type OpImpl = (ctx: OpContext) => Tensor | (Tensor | undefined)[]
