import { readFileSync, writeFileSync } from 'node:fs'
import { onnx } from 'onnx-proto'
import { describe, expect, it } from 'vitest'
import { layerLayout, resolveLayer } from '../../src/main/engine/model/layers'
import { ALL_ZERO_WARNING, CamRunner } from '../../src/main/engine/cam/runner'
import { toRecord } from '../../src/main/engine/cam/record'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { pearson } from '../cam-reference'
import { tempDir } from '../helpers'
import { writeModel } from '../synthetic-models'
import { maxOf } from '../../src/shared/stats'

/**
 * `auto` looks through the Pad/Transpose wrappers exporters put before the pool (tf2onnx's
 * `pre_T__53`, PyTorch 1.x's `/Pad_51_output_0`) to the layer that made the feature map, and a map
 * that is all zero (every weighted sum negative) says so.
 */
const dir = tempDir()
type Nodes = Parameters<typeof writeModel>[2]

/** writeModel's initializers are float; Pad's pads are int64, added here. */
function withInt64(path: string, name: string, values: number[]): string {
  const model = onnx.ModelProto.decode(readFileSync(path))
  model.graph!.initializer!.push(onnx.TensorProto.create({ name, dataType: onnx.TensorProto.DataType.INT64, dims: [values.length], int64Data: values }))
  writeFileSync(path, onnx.ModelProto.encode(model).finish())
  return path
}

const conv: Nodes = [
  { op: 'Conv', inputs: ['input', 'cw'], output: 'Conv_1/Conv2D', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
  { op: 'Relu', inputs: ['Conv_1/Conv2D'], output: 'Conv_1/Relu6' }
]
const head: Nodes = [{ op: 'Gemm', inputs: ['flat', 'w', 'b'], output: 'logits', attrs: { transB: 1 } }]
const init = { cw: [4, 3, 3, 3], w: [5, 4], b: [5] }
const image = Float32Array.from({ length: 3 * 8 * 8 }, (_, i) => Math.sin(i * 0.37) * 2 + Math.cos(i * 0.11))

const resolveAuto = (m: LoadedModel) => resolveLayer(m.index, m.shapes, m.types, 'auto', m.path)

describe('auto looks through wrappers to the real layer', () => {
  it('a tf2onnx-style Transpose before a channels-last pool', async () => {
    const path = writeModel(dir, 'transpose.onnx', [
      ...conv,
      { op: 'Transpose', inputs: ['Conv_1/Relu6'], output: 'pre_T__53', attrs: { perm: [0, 2, 3, 1] } },
      { op: 'ReduceMean', inputs: ['pre_T__53'], output: 'flat', attrs: { axes: [1, 2], keepdims: 0 } },
      ...head
    ], init, 5)
    const m = await LoadedModel.open(path)
    expect(resolveAuto(m)).toBe('Conv_1/Relu6')
    expect(layerLayout(m.index, 'Conv_1/Relu6')).toBe('NCHW')
    // The same map as the wrapper's (it holds the same values, channels-last).
    const a = await CamRunner.create(m, { method: 'gradcam', layer: 'auto' })
    const b = await CamRunner.create(m, { method: 'gradcam', layer: 'pre_T__53' })
    const [ra] = await a.run([image], [-1])
    const [rb] = await b.run([image], [-1])
    await a.release()
    await b.release()
    expect(a.layer).toBe('Conv_1/Relu6')
    expect(pearson(ra.map, rb.map)).toBeGreaterThan(0.99999)
  })

  it('a Pad (and an Identity) before the pool', async () => {
    const path = withInt64(
      writeModel(dir, 'pad.onnx', [
        ...conv,
        { op: 'Pad', inputs: ['Conv_1/Relu6', 'pads'], output: '/Pad_51_output_0' },
        { op: 'Identity', inputs: ['/Pad_51_output_0'], output: 'padded' },
        { op: 'GlobalAveragePool', inputs: ['padded'], output: 'pool' },
        { op: 'Flatten', inputs: ['pool'], output: 'flat', attrs: { axis: 1 } },
        ...head
      ], init, 5),
      'pads',
      [0, 0, 1, 1, 0, 0, 1, 1]
    )
    const m = await LoadedModel.open(path)
    expect(resolveAuto(m)).toBe('Conv_1/Relu6')
    expect(m.shapes.get('Conv_1/Relu6')).toEqual([2, 4, 8, 8])
  })

  it('never walks back to the model input', async () => {
    const path = writeModel(dir, 'bare.onnx', [
      { op: 'Transpose', inputs: ['input'], output: 't', attrs: { perm: [0, 1, 3, 2] } },
      { op: 'GlobalAveragePool', inputs: ['t'], output: 'pool' },
      { op: 'Flatten', inputs: ['pool'], output: 'flat', attrs: { axis: 1 } },
      { op: 'Gemm', inputs: ['flat', 'w', 'b'], output: 'logits', attrs: { transB: 1 } }
    ], { w: [5, 3], b: [5] }, 5)
    const m = await LoadedModel.open(path)
    expect(resolveAuto(m)).toBe('t')
  })
})

describe('all-zero maps', () => {
  // Every weight of the head made negative (-|w|), after a ReLU: for every class, sum_k w_k A_k <= 0
  // everywhere (w_k < 0, A_k >= 0), so Grad-CAM's ReLU leaves nothing.
  const path = writeModel(dir, 'negative.onnx', [
    ...conv,
    { op: 'GlobalAveragePool', inputs: ['Conv_1/Relu6'], output: 'pool' },
    { op: 'Flatten', inputs: ['pool'], output: 'flat', attrs: { axis: 1 } },
    { op: 'Abs', inputs: ['w'], output: 'w_abs' },
    { op: 'Neg', inputs: ['w_abs'], output: 'w_neg' },
    { op: 'Gemm', inputs: ['flat', 'w_neg', 'b'], output: 'logits', attrs: { transB: 1 } }
  ], init, 5)

  it('carry a warning to the result record; a normal map does not', async () => {
    const m = await LoadedModel.open(path)
    const runner = await CamRunner.create(m, { method: 'gradcam', layer: 'auto' })
    const [r] = await runner.run([image], [-1])
    await runner.release()
    expect(maxOf(r.raw)).toBe(0)
    expect(r.warnings).toEqual([ALL_ZERO_WARNING])
    const record = toRecord({ ok: true, input: { path: 'x.png', kind: 'image', stem: 'x' }, result: r, ms: 1 }, runner.layer, 'gradcam', runner.provider)
    expect(record.ok && record.warnings).toEqual([ALL_ZERO_WARNING])
    expect(record.ok && record.scoreTensor).toBe('logits')

    const normal = writeModel(dir, 'positive.onnx', [
      ...conv,
      { op: 'GlobalAveragePool', inputs: ['Conv_1/Relu6'], output: 'pool' },
      { op: 'Flatten', inputs: ['pool'], output: 'flat', attrs: { axis: 1 } },
      { op: 'Abs', inputs: ['w'], output: 'w_abs' },
      { op: 'Gemm', inputs: ['flat', 'w_abs', 'b'], output: 'logits', attrs: { transB: 1 } }
    ], init, 5)
    const ok = await CamRunner.create(await LoadedModel.open(normal), { method: 'gradcam', layer: 'auto' })
    const [r2] = await ok.run([image], [-1])
    await ok.release()
    expect(maxOf(r2.raw)).toBeGreaterThan(0)
    expect(r2.warnings).toBeUndefined()
  })
})
