import { describe, expect, it } from 'vitest'
import { moduleScope, resolveLayer } from '../../src/main/engine/model/layers'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { ApiError } from '../../src/shared/errors'
import { loadManifests } from '../cam-reference'
import { fixture, tempDir } from '../helpers'
import { writeModel } from '../synthetic-models'

/**
 * Layer names as users know them: PyTorch module paths (as pytorch-grad-cam users write
 * `model.features[10]`) resolve to torch.onnx's scopes, and a unique suffix of a tensor name (a TF
 * node name such as `Conv_1/Relu6`) is enough.
 */
const resolve = async (file: string) => {
  const m = await LoadedModel.open(fixture('models', file))
  return (spec: string) => resolveLayer(m.index, m.shapes, m.types, spec, m.path)
}

function failure(fn: () => unknown): ApiError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ApiError) return err
    throw err
  }
  throw new Error('expected a failure')
}

describe('PyTorch module paths', () => {
  it('resolve to the tensor each fixture case hooked in PyTorch', async () => {
    // make_cam_fixtures.py hooked the output of `torch_module` and checked it is `layer_tensor`.
    let checked = 0
    for (const m of loadManifests(fixture('cam'))) {
      const model = await LoadedModel.open(m.model)
      for (const c of m.cases as (typeof m.cases[number] & { torch_module?: string })[]) {
        if (!/^[\w.]+$/.test(c.torch_module ?? '')) continue // e.g. a wrapper's own module
        const path = c.torch_module!
        expect(resolveLayer(model.index, model.shapes, model.types, path, m.model), `${m.name}: ${path}`).toBe(c.layer_tensor)
        expect(resolveLayer(model.index, model.shapes, model.types, `model.${path.replace(/\.(\d+)/g, '[$1]')}`, m.model)).toBe(c.layer_tensor)
        checked++
      }
    }
    expect(checked).toBeGreaterThan(10)
  })

  it('resolve nested modules inside blocks as torch.onnx scopes them', async () => {
    const resnet = await resolve('mini_resnet.onnx')
    expect(resnet('layer4.0.conv2')).toBe('/layer4/layer4.0/conv2/Conv_output_0')
    expect(resnet('layer4[0].conv2')).toBe('/layer4/layer4.0/conv2/Conv_output_0')
    expect(resnet('layer2.0.downsample.0')).toBe('/layer2/layer2.0/downsample/downsample.0/Conv_output_0')
    expect(resnet('layer4.0')).toBe('/layer4/layer4.0/relu_1/Relu_output_0')
    const mobilenet = await resolve('mini_mobilenet_v2.onnx')
    // InvertedResidual.conv is a Sequential of Conv2dNormActivation (Conv, BN, ReLU6 = Clip).
    expect(mobilenet('features.4.conv.1.2')).toBe('/features/features.4/conv/conv.1/conv.1.2/Clip_output_0')
    expect(mobilenet('model.features[4].conv[1]')).toBe('/features/features.4/conv/conv.1/conv.1.2/Clip_output_0')
  })

  it('maps paths to scopes by torch.onnx._unqualified_variable_name', () => {
    expect(moduleScope('features.10')).toBe('/features/features.10/')
    expect(moduleScope('layer4.1.conv2')).toBe('/layer4/layer4.1/conv2/')
    expect(moduleScope('features.6.conv.0.0')).toBe('/features/features.6/conv/conv.0/conv.0.0/')
    expect(moduleScope('features.denseblock2')).toBe('/features/denseblock2/')
    expect(moduleScope('model.layer4')).toBe('/layer4/')
    expect(moduleScope('/layer4/layer4.1')).toBeNull()
  })

  it('an unknown module path is not-found with close candidates', async () => {
    const resnet = await resolve('mini_resnet.onnx')
    const err = failure(() => resnet('layer4.1.conv2'))
    expect(err.code).toBe('not-found')
    expect(err.message).toContain('/layer4/layer4.1/conv2/')
    const close = (err.details as { closeMatches: string[] }).closeMatches
    expect(close.length).toBeGreaterThan(0)
    expect(close.some((c) => c.startsWith('layer4/layer4.0'))).toBe(true)
  })
})

describe('suffixes of tensor names', () => {
  const dir = tempDir()
  // TF-style names, as tf2onnx and the tfjs converter write them.
  const path = writeModel(dir, 'tf_names.onnx', [
    { op: 'Conv', inputs: ['input', 'cw'], output: 'MobilenetV2/Conv/Conv2D', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    { op: 'Relu', inputs: ['MobilenetV2/Conv/Conv2D'], output: 'MobilenetV2/Conv/Relu6' },
    { op: 'Conv', inputs: ['MobilenetV2/Conv/Relu6', 'cw2'], output: 'MobilenetV2/Conv_1/Conv2D', attrs: { kernel_shape: [1, 1] } },
    { op: 'Relu', inputs: ['MobilenetV2/Conv_1/Conv2D'], output: 'MobilenetV2/Conv_1/Relu6:0' },
    { op: 'GlobalAveragePool', inputs: ['MobilenetV2/Conv_1/Relu6:0'], output: 'pool' },
    { op: 'Flatten', inputs: ['pool'], output: 'flat', attrs: { axis: 1 } },
    { op: 'Gemm', inputs: ['flat', 'w', 'b'], output: 'logits', attrs: { transB: 1 } }
  ], { cw: [4, 3, 3, 3], cw2: [4, 4, 1, 1], w: [5, 4], b: [5] }, 5)

  it('a unique suffix at a / boundary resolves (with or without the :0 output suffix)', async () => {
    const m = await LoadedModel.open(path)
    const r = (spec: string) => resolveLayer(m.index, m.shapes, m.types, spec, path)
    expect(r('Conv_1/Relu6')).toBe('MobilenetV2/Conv_1/Relu6:0')
    expect(r('Conv_1/Relu6:0')).toBe('MobilenetV2/Conv_1/Relu6:0')
    expect(r('Conv/Conv2D')).toBe('MobilenetV2/Conv/Conv2D')
  })

  it('an ambiguous suffix is an error listing the candidates; a partial word does not match', async () => {
    const m = await LoadedModel.open(path)
    const r = (spec: string) => resolveLayer(m.index, m.shapes, m.types, spec, path)
    const err = failure(() => r('Relu6'))
    expect(err.code).toBe('invalid-arguments')
    expect(err.message).toContain('ambiguous')
    expect((err.details as { closeMatches: string[] }).closeMatches.sort()).toEqual(['MobilenetV2/Conv/Relu6', 'MobilenetV2/Conv_1/Relu6:0'])
    // 'elu6' is not a name component: no silent partial match.
    expect(failure(() => r('elu6')).code).toBe('not-found')
  })

  it('on a torch export, a suffix with the block resolves and a bare op name is ambiguous', async () => {
    const resnet = await resolve('mini_resnet.onnx')
    expect(resnet('layer3.0/conv1/Conv_output_0')).toBe('/layer3/layer3.0/conv1/Conv_output_0')
    const err = failure(() => resnet('conv1/Conv_output_0'))
    expect(err.code).toBe('invalid-arguments')
    expect(err.message).toMatch(/ends 5 tensor names/)
  })
})

describe('TensorFlow scopes (names without a leading slash)', () => {
  const GRAPH = fixture('tfjs', 'small_graph', 'model.json')

  it('a scope resolves to the last 4-D tensor under it, from the root or from inside', async () => {
    const m = await LoadedModel.open(GRAPH)
    const resolve = (spec: string) => resolveLayer(m.index, m.shapes, m.types, spec, GRAPH)
    expect(resolve('block_1')).toBe('MobilenetV2/block_1/Relu6')
    expect(resolve('MobilenetV2/expanded_conv')).toBe('MobilenetV2/expanded_conv/add')
    // an exact tensor suffix still wins over a scope of the same name
    expect(resolve('Conv_1/Relu6')).toBe('MobilenetV2/Conv_1/Relu6')
  })

  it('a scope that is not there is not-found, listing each candidate once', async () => {
    const m = await LoadedModel.open(GRAPH)
    const err = (() => {
      try {
        resolveLayer(m.index, m.shapes, m.types, 'block_9', GRAPH)
      } catch (e) {
        return e as ApiError
      }
      return null
    })()
    expect(err?.code).toBe('not-found')
    const matches = (err?.details as { closeMatches: string[] }).closeMatches
    expect(new Set(matches).size).toBe(matches.length)
  })
})
