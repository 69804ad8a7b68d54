import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { onnx } from 'onnx-proto'
import { describe, expect, it } from 'vitest'
import { CamRunner } from '../../src/main/engine/cam/runner'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { graphOf } from '../../src/main/engine/onnx/model-file'
import { expectMatchesReference, loadInputs, loadManifests } from '../cam-reference'
import { fixture, tempDir } from '../helpers'

/**
 * TF-"same" pads computed from the input's shape (timm Conv2dSame) in a model whose height and width
 * are dynamic: the pads depend on the size, so they can be folded only once the size is chosen
 * (LoadedModel.open), not when the file is read. The fixed-size export's PyTorch references must hold.
 */
const samepad = loadManifests(fixture('opset', 'cam')).find((m) => m.name === 'samepad')!

function dynamicSizeCopy(dir: string): string {
  const model = onnx.ModelProto.decode(readFileSync(fixture('opset', 'samepad_opset13.onnx')))
  const dims = graphOf(model).input[0].type!.tensorType!.shape!.dim!
  dims[2] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'height' })
  dims[3] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'width' })
  const path = join(dir, 'samepad_dynamic.onnx')
  writeFileSync(path, onnx.ModelProto.encode(model).finish())
  return path
}

describe('pads computed from a dynamic image size', () => {
  it('fold at the chosen size: every Pad reads constant pads and Grad-CAM matches PyTorch', async () => {
    const path = dynamicSizeCopy(tempDir())
    const m = await LoadedModel.open(path, null, { size: [32, 32] })
    expect(m.dynamicSize).toBe(true)
    const pads = m.index.nodes.filter((n) => n.opType === 'Pad')
    expect(pads.length).toBe(3)
    for (const p of pads) expect(m.index.isConstant(p.inputs[1]), p.name).toBe(true)
    // the warning that gradients cannot pass is gone once the pads are folded
    expect((m.summary.warnings ?? []).some((w) => w.includes('computed from the input'))).toBe(false)
    const inputs = await loadInputs(samepad)
    for (const c of samepad.cases) {
      const runner = await CamRunner.create(m, { method: c.method as never, layer: c.layer_tensor })
      await expectMatchesReference(samepad, c, await runner.run(inputs, inputs.map(() => -1)))
      await runner.release()
    }
  })

  it('another size folds other pads (an odd size pads asymmetrically)', async () => {
    const path = dynamicSizeCopy(tempDir())
    const a = await LoadedModel.open(path, null, { size: [32, 32] })
    const b = await LoadedModel.open(path, null, { size: [33, 33] })
    const padsOf = (m: LoadedModel) => m.index.nodes.filter((n) => n.opType === 'Pad').map((n) => Array.from(m.index.constant(n.inputs[1])!.data as ArrayLike<number>).join(','))
    expect(padsOf(a)).not.toEqual(padsOf(b))
  })
})
