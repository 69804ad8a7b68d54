import { LoadedModel } from './src/main/engine/model/loaded-model'
import { buildInputGradientGraph } from './src/main/engine/cam/pixel/graph'
import { OrtSession, floatTensor, int64Tensor } from './src/main/engine/exec/ort'
import { TARGET_INPUT } from './src/main/engine/cam/graph'
for (const path of [process.argv[2]]) {
  const m = await LoadedModel.open(path)
  const g = buildInputGradientGraph(m)
  const s = await OrtSession.create(g.bytes, 'x', {})
  const n = m.inputChw.reduce((a, b) => a * b, 1)
  const x = Float32Array.from({ length: n }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.013) * Math.cos(i * 0.0007))
  const d = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5)
  const at = async (p: Float32Array) => {
    const o = await s.run({ [m.inputName]: floatTensor(p, m.inputDims(1)), [TARGET_INPUT]: int64Tensor([0]) })
    return { f: (o[g.objective].data as Float32Array)[0], g: o[g.gradient].data as Float32Array }
  }
  for (const a of [0.3, 0.5]) {
    const p = Float32Array.from(x, (v) => a * v)
    const { g: grad } = await at(p)
    let dd = 0
    for (let i = 0; i < n; i++) dd += grad[i] * d[i]
    const out: string[] = []
    for (const h of [1e-2, 3e-3, 1e-3]) {
      const fp = (await at(Float32Array.from(p, (v, i) => v + h * d[i]))).f
      const fm = (await at(Float32Array.from(p, (v, i) => v - h * d[i]))).f
      out.push(((fp - fm) / (2 * h)).toFixed(5))
    }
    console.log(`${path.split('/').slice(-2).join('/')} alpha ${a}: grad.d ${dd.toFixed(5)} fd(h=1e-2,3e-3,1e-3) ${out.join(' ')}`)
  }
}
