import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { onnx } from 'onnx-proto'
import * as ort from 'onnxruntime-node'
import { onnxFormat } from '../../src/main/engine/formats/onnx'
import { encodeAttributes, valueInfo, type BuilderAttr } from '../../src/main/engine/onnx/builder'
import { foldConstants, type FoldProbe } from '../../src/main/engine/exec/fold'
import { GraphIndex } from '../../src/main/engine/onnx/ir'
import { summarize } from '../../src/main/engine/onnx/summary'
import { DataType, encodeTensor, f32, i64, type ConstTensor } from '../../src/main/engine/onnx/tensor-data'
import { upgradeModel } from '../../src/main/engine/onnx/upgrade'
import { fixture, tempDir } from '../helpers'

/**
 * Constant folding: computed operands (pads, slice bounds) become constants when their value cannot
 * depend on the input (constants only) or does not change between probe runs; everything else stays
 * computed. Every folded model must compute what the original computes (onnxruntime on both).
 */

interface NodeSpec {
  op: string
  inputs: string[]
  outputs: string[]
  attrs?: Record<string, BuilderAttr>
}

const constNode = (output: string, value: ConstTensor): NodeSpec => ({ op: 'Constant', inputs: [], outputs: [output], attrs: { value } })

function buildModel(nodes: NodeSpec[], input: (number | string)[], inits: Record<string, ConstTensor> = {}, opset = 13): onnx.ModelProto {
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'metascope-tests',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'fold',
      node: nodes.map((n, i) => onnx.NodeProto.create({ name: `${n.op}_${i}`, opType: n.op, input: n.inputs, output: n.outputs, attribute: encodeAttributes(n.attrs ?? {}) })),
      input: [valueInfo('x', DataType.FLOAT, input)],
      initializer: Object.entries(inits).map(([name, c]) => encodeTensor(name, c)),
      output: [onnx.ValueInfoProto.create({ name: 'y', type: { tensorType: { elemType: DataType.FLOAT } } })]
    }
  })
  return onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish())
}

async function run(model: onnx.ModelProto, dims: number[]): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish())
  try {
    const n = dims.reduce((p, d) => p * d, 1)
    const x = new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.731) + 0.1), dims)
    const out = await session.run({ [session.inputNames[0]]: x })
    return out[session.outputNames[0]] as ort.Tensor
  } finally {
    await session.release()
  }
}

async function expectSameOutputs(a: onnx.ModelProto, b: onnx.ModelProto, dims: number[]): Promise<void> {
  const [ya, yb] = [await run(a, dims), await run(b, dims)]
  expect(yb.dims).toEqual(ya.dims)
  expect(Array.from(yb.data as Float32Array)).toEqual(Array.from(ya.data as Float32Array))
}

const ops = (m: onnx.ModelProto) => m.graph!.node!.map((n) => n.opType)

/** The pads operand of the (only) Pad node, when it is a constant now. */
function padsOf(m: onnx.ModelProto): number[] | null {
  const index = new GraphIndex(m)
  const pad = index.nodes.find((n) => n.opType === 'Pad')!
  const c = index.constant(pad.inputs[1])
  return c ? Array.from(c.data as BigInt64Array, Number) : null
}

/** Pads [0, 0, h, 0, 0, 0, h, 0] computed from the input's height h: Shape -> Gather -> Unsqueeze -> Concat -> Slice. */
function heightPads(): NodeSpec[] {
  return [
    { op: 'Shape', inputs: ['x'], outputs: ['shape'] },
    constNode('two', i64([2], [])),
    { op: 'Gather', inputs: ['shape', 'two'], outputs: ['h'], attrs: { axis: 0 } },
    constNode('axis0', i64([0])),
    { op: 'Unsqueeze', inputs: ['h', 'axis0'], outputs: ['h1'] },
    constNode('zeros', i64([0, 0])),
    constNode('zeros3', i64([0, 0, 0])),
    // [0, 0, h, 0, 0, 0, h, 0, 0, 0], cut to 8 by the Slice below (a chain of several ops, as exporters write).
    { op: 'Concat', inputs: ['zeros', 'h1', 'zeros3', 'h1', 'zeros3'], outputs: ['padsRaw'], attrs: { axis: 0 } },
    constNode('eight', i64([8])),
    { op: 'Slice', inputs: ['padsRaw', 'axis0', 'eight'], outputs: ['pads'] },
    { op: 'Pad', inputs: ['x', 'pads'], outputs: ['y'] }
  ]
}

describe('foldConstants', () => {
  it('folds a constants-only chain (as torch writes constant F.pad pads at opset 11+) into an initializer', async () => {
    const model = buildModel(
      [
        constNode('n', i64([4])),
        { op: 'ConstantOfShape', inputs: ['n'], outputs: ['zeros'], attrs: { value: i64([0], [1]) } },
        constNode('hw', i64([1, 2, 1, 2])),
        { op: 'Concat', inputs: ['zeros', 'hw'], outputs: ['pads8'], attrs: { axis: 0 } },
        { op: 'Cast', inputs: ['pads8'], outputs: ['pads'], attrs: { to: DataType.INT64 } },
        { op: 'Pad', inputs: ['x', 'pads'], outputs: ['y'] }
      ],
      ['batch', 2, 3, 4]
    )
    const out = await foldConstants(model, { label: 'chain.onnx' })
    expect(out.changed).toBe(true)
    expect(out.folded).toBe(1)
    expect(ops(out.model)).toEqual(['Pad'])
    expect(padsOf(out.model)).toEqual([0, 0, 0, 0, 1, 2, 1, 2])
    await expectSameOutputs(model, out.model, [3, 2, 3, 4])
  })

  it('folds pads computed from a fixed image height, checked at two batch sizes', async () => {
    const model = buildModel(heightPads(), ['batch', 2, 5, 4])
    const probe: FoldProbe = { input: 'x', dims: [[1, 2, 5, 4], [2, 2, 5, 4]] }
    const out = await foldConstants(model, { label: 'fixed-h.onnx', probe })
    expect(padsOf(model)).toBeNull()
    expect(padsOf(out.model)).toEqual([0, 0, 5, 0, 0, 0, 5, 0])
    expect(ops(out.model)).toEqual(['Pad'])
    await expectSameOutputs(model, out.model, [3, 2, 5, 4])
  })

  it('leaves pads computed from a dynamic height alone (they differ between probe sizes)', async () => {
    const model = buildModel(heightPads(), ['batch', 2, 'h', 'w'])
    const probe: FoldProbe = { input: 'x', dims: [[1, 2, 5, 4], [2, 2, 5, 4], [1, 2, 9, 8]] }
    const out = await foldConstants(model, { label: 'dynamic-h.onnx', probe })
    expect(out.shapeDependent).toBe(1)
    expect(padsOf(out.model)).toBeNull()
    expect(out.unfolded).toEqual(['Pad node "Pad_10"'])
    await expectSameOutputs(model, out.model, [1, 2, 7, 4])
  })

  it('leaves a value that depends on the batch size computed (Slice to the batch size)', async () => {
    const model = buildModel(
      [
        { op: 'Shape', inputs: ['x'], outputs: ['shape'] },
        constNode('zero', i64([0])),
        constNode('one', i64([1])),
        { op: 'Slice', inputs: ['shape', 'zero', 'one'], outputs: ['batch'] },
        { op: 'Slice', inputs: ['x', 'zero', 'batch', 'zero'], outputs: ['y'] }
      ],
      ['batch', 3]
    )
    const out = await foldConstants(model, { label: 'batch.onnx', probe: { input: 'x', dims: [[1, 3], [2, 3]] } })
    expect(out.folded).toBe(0)
    expect(out.shapeDependent).toBe(1)
    expect(out.changed).toBe(false)
    await expectSameOutputs(model, out.model, [4, 3])
  })

  it('without a probe, folds only what constants alone compute', async () => {
    const model = buildModel(heightPads(), ['batch', 2, 5, 4])
    const out = await foldConstants(model, { label: 'no-probe.onnx' })
    expect(padsOf(out.model)).toBeNull()
    expect(out.shapeDependent).toBe(1)
  })

  it('turns weights stored as Constant nodes into initializers (they count as parameters)', async () => {
    const path = fixture('opset', 'constweights_opset9.onnx')
    const original = onnx.ModelProto.decode(readFileSync(path))
    expect(original.graph!.initializer).toHaveLength(0)
    const upgraded = upgradeModel(original, { file: path }).model
    const out = await foldConstants(upgraded, { label: path })
    expect(out.weights).toBe(4)
    expect(ops(out.model)).not.toContain('Constant')
    const summary = summarize(out.model, path, 0, null)
    // conv 8x3x3x3 + 8, linear 3x8 + 3, as the fixture script defines them.
    expect(summary.parameterCount).toBe(8 * 27 + 8 + 3 * 8 + 3)
    await expectSameOutputs(original, out.model, [2, 3, 32, 32])
  })

  it('turns timm-style TF-"same" pads (a torch.onnx export) into Pads with constant pads', async () => {
    const path = fixture('opset', 'samepad_opset11.onnx')
    const original = onnx.ModelProto.decode(readFileSync(path))
    const computed = new GraphIndex(original).nodes.filter((n) => n.opType === 'Pad' && !new GraphIndex(original).isConstant(n.inputs[1]))
    expect(computed.length).toBe(3)
    const upgraded = upgradeModel(original, { file: path }).model
    const out = await foldConstants(upgraded, { label: path, probe: { input: 'input', dims: [[1, 3, 32, 32], [2, 3, 32, 32]] } })
    const index = new GraphIndex(out.model)
    const pads = index.nodes.filter((n) => n.opType === 'Pad')
    expect(pads).toHaveLength(3)
    for (const p of pads) expect(index.isConstant(p.inputs[1]), p.name).toBe(true)
    // Stride 2, 3x3 kernel on 32x32: TF pads 0 before, 1 after; the 3x3 stride-1 conv pads 1 and 1.
    expect(Array.from(index.constant(pads[0].inputs[1])!.data as BigInt64Array, Number)).toEqual([0, 0, 0, 0, 0, 0, 1, 1])
    expect(Array.from(index.constant(pads[1].inputs[1])!.data as BigInt64Array, Number)).toEqual([0, 0, 1, 1, 0, 0, 1, 1])
    expect(ops(out.model)).not.toContain('Shape')
    await expectSameOutputs(original, out.model, [3, 3, 32, 32])
  })

  it('folds a Constant written with value_ints (opset 12+) into a tensor the gradient rules can read', async () => {
    const model = buildModel(
      [
        { op: 'Constant', inputs: [], outputs: ['pads'], attrs: { value_ints: [0, 0, 1, 0, 0, 2] } },
        { op: 'Pad', inputs: ['x', 'pads'], outputs: ['y'] }
      ],
      ['batch', 2, 3]
    )
    expect(padsOf(model)).toBeNull()
    const out = await foldConstants(model, { label: 'value-ints.onnx' })
    expect(padsOf(out.model)).toEqual([0, 0, 1, 0, 0, 2])
    await expectSameOutputs(model, out.model, [2, 2, 3])
  })

  it('opening a file folds shape-derived pads only when the file fixes the image size', async () => {
    const dir = tempDir()
    const write = (file: string, input: (number | string)[]) => {
      const path = join(dir, file)
      writeFileSync(path, onnx.ModelProto.encode(buildModel(heightPads(), input)).finish())
      return path
    }
    const fixed = await onnxFormat.open(write('fixed.onnx', ['batch', 3, 5, 4]))
    expect(padsOf(fixed.model)).toEqual([0, 0, 5, 0, 0, 0, 5, 0])
    expect(fixed.warnings).toEqual([])
    // A dynamic size is chosen later (metadata, --size): pads that hold at one size may not at another.
    const dynamic = await onnxFormat.open(write('dynamic.onnx', ['batch', 3, 'h', 'w']))
    expect(padsOf(dynamic.model)).toBeNull()
    expect(dynamic.warnings.join('\n')).toMatch(/dynamic\.onnx: Pad node "Pad_10" take operands computed from the input's size, which is not fixed/)
  })

  it('changes nothing in a model with nothing to fold', async () => {
    const model = buildModel([{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], ['batch', 3], { unused: f32([1], [1]) })
    const out = await foldConstants(model, { label: 'plain.onnx', probe: { input: 'x', dims: [[1, 3]] } })
    expect(out.changed).toBe(false)
    expect(out.model).toBe(model)
  })
})
