import { GraphBuilder } from '../onnx/builder'
import { inferElemTypes } from '../onnx/elem-types'
import type { GraphIndex } from '../onnx/ir'
import { floatTensor, OrtSession, type Feeds } from './ort'

export type Shapes = Map<string, number[]>

/**
 * Static shapes of every tensor, from one probe run in which every node output is fetched.
 * A dynamic batch axis is probed at 2, so broadcasting over the batch shows up in the shapes
 * (a [1,C,1,1] bias then differs from a [2,C,H,W] activation on axis 0).
 */
export async function probeShapes(
  index: GraphIndex,
  inputName: string,
  inputDims: number[],
  label: string
): Promise<{ shapes: Shapes; batch: number }> {
  const size = inputDims.reduce((p, d) => p * d, 1)
  const data = new Float32Array(size)
  for (let i = 0; i < size; i++) data[i] = Math.sin(i * 12.9898) * 0.5
  const shapes = await probeAll(index, { [inputName]: floatTensor(data, inputDims) }, label)
  return { shapes, batch: inputDims[0] }
}

/**
 * Static shapes of every node output of an arbitrary graph (a training or unrolled meta-learning graph
 * that the compiler differentiates again), from one run with the given feeds. Inputs and initializers
 * take their own dims. The feeds' values do not matter, only their dims.
 */
export async function probeAll(index: GraphIndex, feeds: Feeds, label: string): Promise<Shapes> {
  const b = new GraphBuilder(index.model)
  const names: string[] = []
  for (const n of index.nodes) for (const o of n.outputs) if (o) names.push(o)
  const types = inferElemTypes(index)
  b.setOutputs(names, names.map((n) => types.get(n) ?? 1))
  const session = await OrtSession.create(b.encode(), label, { intraOpThreads: 1 })
  try {
    const out = await session.run(feeds)
    const shapes: Shapes = new Map()
    for (const [k, v] of Object.entries(feeds)) shapes.set(k, [...v.dims])
    for (const [k, v] of Object.entries(out)) shapes.set(k, [...v.dims])
    for (const name of index.initializerNames) {
      const c = index.constant(name)
      if (c) shapes.set(name, c.dims)
    }
    return shapes
  } finally {
    await session.release()
  }
}
