import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeNpy } from '../../src/main/engine/data/npy'
import { pearson } from '../cam-reference'
import { fixture, runCli, tempDir } from '../helpers'


const cli = runCli

/** The CLI with the later CAM methods and a layer list: the maps are the PyTorch references of test/fixtures/cam-more. */
describe('cli cam: Ablation-CAM and several layers', () => {
  const ref = (file: string, i: number) => {
    const r = decodeNpy(readFileSync(fixture('cam-more', 'mini_resnet', file)))
    const per = r.shape[1] * r.shape[2]
    return Array.from(r.data.subarray(i * per, (i + 1) * per))
  }

  it('--layer layer2,layer4 averages the two layers as pytorch-grad-cam does', async () => {
    const out = tempDir()
    const r = await cli(['cam', '--model', fixture('models', 'mini_resnet.onnx'), '--images', fixture('cam', 'mini_resnet', 'input_1.npy'), '--out', out, '--layer', 'layer2,layer4'])
    expect(r.code, r.stderr).toBe(0)
    const [result] = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { layer: string }[]
    expect(result.layer).toBe('/layer2/layer2.0/relu_1/Relu_output_0,/layer4/layer4.0/relu_1/Relu_output_0')
    const ours = decodeNpy(readFileSync(join(out, 'input_1.gradcam.cam.npy')))
    expect(pearson(Array.from(ours.data), ref('gradcam_layers_2_4.npy', 1))).toBeGreaterThanOrEqual(0.999)
  }, 60_000)

  it('--method ablationcam', async () => {
    const out = tempDir()
    const r = await cli(['cam', '--model', fixture('models', 'mini_resnet.onnx'), '--images', fixture('cam', 'mini_resnet', 'input_2.npy'), '--out', out, '--layer', 'layer3', '--method', 'ablationcam'])
    expect(r.code, r.stderr).toBe(0)
    const ours = decodeNpy(readFileSync(join(out, 'input_2.ablationcam.cam.npy')))
    expect(pearson(Array.from(ours.data), ref('ablationcam_layer3.npy', 2))).toBeGreaterThanOrEqual(0.999)
  }, 60_000)

  it('--layer with an empty list entry is an error naming the flag', async () => {
    const r = await cli(['cam', '--model', fixture('models', 'mini_resnet.onnx'), '--images', fixture('cam', 'mini_resnet', 'input_0.npy'), '--out', tempDir(), '--layer', 'layer2,,layer4'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('layer2,,layer4')
  }, 60_000)
})
