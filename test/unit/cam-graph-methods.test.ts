import { onnx } from 'onnx-proto'
import { describe, expect, it } from 'vitest'
import { rng } from '../oracles/vjp-check'
import { emitRawCam } from '../../src/main/engine/cam/graph-maps'
import { GRADIENT_CAMS, type CamMethod } from '../../src/main/engine/cam/methods'
import { CAM_METHOD_IDS as CAM_METHODS } from '../../src/shared/registry/cam-methods'

/** Every method of the registry that has a gradient (graph) form. */
const GRADIENT_METHODS = CAM_METHODS.filter((m): m is CamMethod => m in GRADIENT_CAMS)
import { floatTensor, OrtSession } from '../../src/main/engine/exec/ort'
import { GraphBuilder } from '../../src/main/engine/onnx/builder'
import { DataType } from '../../src/main/engine/onnx/tensor-data'
import { maxOf } from '../../src/shared/stats'

/**
 * The in-graph CAM methods (graph-maps.ts, what cam.run computes) against their readable JS
 * definitions (methods.ts, as pytorch-grad-cam writes them) on random activations and gradients:
 * activations non-negative with exact zeros (as after a ReLU), gradients signed with exact zeros
 * (Grad-CAM++ treats g = 0 apart).
 */
const [B, K, H, W] = [2, 5, 3, 4]
const area = H * W

describe('in-graph CAM methods equal their JS definitions', () => {
  for (const method of GRADIENT_METHODS) {
    it(method, async () => {
      const r = rng(97 + method.length)
      const n = B * K * area
      const a = Float32Array.from({ length: n }, () => Math.max(0, r() * 1.5))
      const g = Float32Array.from({ length: n }, (_, i) => (i % 7 === 3 ? 0 : r() * 0.8))
      const empty = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph: { name: 'm', node: [], initializer: [], input: [], output: [] } })
      const b = new GraphBuilder(empty, 't')
      b.addInput('a', DataType.FLOAT, [B, K, H, W])
      b.addInput('g', DataType.FLOAT, [B, K, H, W])
      const raw = emitRawCam(b, method, 'a', 'g')
      b.setOutputs([raw])
      const session = await OrtSession.create(b.encode(), method, { intraOpThreads: 1 })
      const out = (await session.run({ a: floatTensor(a, [B, K, H, W]), g: floatTensor(g, [B, K, H, W]) }))[raw]
      await session.release()
      expect([...out.dims].slice(-2)).toEqual([H, W])
      const got = out.data as Float32Array
      for (let i = 0; i < B; i++) {
        const want = GRADIENT_CAMS[method]!(a.subarray(i * K * area, (i + 1) * K * area), g.subarray(i * K * area, (i + 1) * K * area), K, area)
        const scale = Math.max(1e-6, maxOf(Array.from(want, Math.abs)))
        for (let p = 0; p < area; p++) expect(Math.abs(got[i * area + p] - want[p]) / scale, `${method} image ${i} pixel ${p}`).toBeLessThan(1e-4)
      }
    })
  }
})
