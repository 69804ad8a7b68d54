import { buildBackward } from '../autodiff/walker'
import type { GraphBuilder } from '../onnx/builder'
import { GraphIndex } from '../onnx/ir'
import { DataType } from '../onnx/tensor-data'
import type { LoadedModel } from '../model/loaded-model'

/**
 * What a gradient map differentiates, resolved against the model (src/shared/targets.ts reads the
 * string; cam/targets.ts resolves it). `class` -1 is each image's top-1, resolved in-graph.
 */
export type CamTarget =
  | { kind: 'class'; index: number }
  | { kind: 'output'; index: number }
  | { kind: 'contrast'; a: number; b: number }
  /** Output pixels x0 <= x < x1, y0 <= y < y1 of class `index`'s [H, W] score plane. */
  | { kind: 'region'; index: number; box: [number, number, number, number] }
  /** `embedding`: the reference picture's, computed by a forward run before the graph is built. */
  | { kind: 'similarity'; reference: string; embedding: Float32Array }

export const TOP1: CamTarget = { kind: 'class', index: -1 }

export interface ScoreView {
  /** The per-image scores [B, classes] (a segmentation model's: each class's mean over the output). */
  scores: string
  /** OneHot of the wanted class, [B, classes]. */
  seed: string
  /** Shapes a [B, classes] seed like the score tensor (spread evenly over a segmentation output). */
  shapeLike: (seed: string) => string
}

/**
 * The objective y [B] each image's map differentiates, and its seed dy / d(score tensor), shaped like
 * the score tensor. Class, output, contrast and region targets are linear in the scores: y = sum(w * s)
 * with w the seed itself. Similarity is cos(e, e_ref), built in-graph and differentiated by the
 * autodiff's own rules (Mul, ReduceSum, Sqrt, Div) back to the embedding.
 */
export function emitObjective(b: GraphBuilder, m: LoadedModel, target: CamTarget, v: ScoreView): { scoreSeed: string; objective: string } {
  const score = m.score.name
  // The scores are [B, classes]; a region's weights are shaped like the [B, C, H, W] score tensor.
  const linear = (weights: string, on: string, rank = 2) => b.reduce('ReduceSum', b.op('Mul', [on, weights]), Array.from({ length: rank - 1 }, (_, i) => i + 1), 0)
  switch (target.kind) {
    case 'class':
    case 'output':
      return { scoreSeed: v.shapeLike(v.seed), objective: linear(v.seed, v.scores) }
    case 'contrast': {
      const w = new Float32Array(m.numClasses)
      w[target.a] = 1
      w[target.b] = -1
      const weights = b.op('Expand', [b.constF32(w, [1, m.numClasses]), b.op('Shape', [v.scores])])
      return { scoreSeed: v.shapeLike(weights), objective: linear(weights, v.scores) }
    }
    case 'region': {
      const [, c, h, w] = m.shapes.get(score)!
      const [x0, y0, x1, y1] = target.box
      const mask = new Float32Array(c * h * w)
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) mask[(target.index * h + y) * w + x] = 1
      const weights = b.op('Expand', [b.constF32(mask, [1, c, h, w]), b.op('Shape', [score])])
      return { scoreSeed: weights, objective: linear(weights, score, 4) }
    }
    case 'similarity':
      return similarity(b, m, v.scores, target.embedding)
  }
}

/** cos(e, r) = <e, r> / (|e| |r|) per image, and its gradient w.r.t. the score tensor by the autodiff. */
function similarity(b: GraphBuilder, m: LoadedModel, e: string, reference: Float32Array): { scoreSeed: string; objective: string } {
  const d = reference.length
  const batch = m.shapes.get(m.score.name)![0]
  // The walker needs each new tensor's static shape (the batch as probed) and type.
  const shapes = new Map(m.shapes)
  const types = new Map(m.types)
  const known = (t: string, s: number[]) => {
    shapes.set(t, s)
    types.set(t, DataType.FLOAT)
    return t
  }
  known(e, [batch, d])
  const r = known(b.constF32(reference, [1, d]), [1, d])
  const rNorm = known(b.constF32([Math.hypot(...reference)], []), [])
  const dot = known(b.reduce('ReduceSum', known(b.op('Mul', [e, r]), [batch, d]), [1], 0), [batch])
  const sumSq = known(b.reduce('ReduceSum', known(b.op('Mul', [e, e]), [batch, d]), [1], 0), [batch])
  const norms = known(b.op('Mul', [known(b.op('Sqrt', [sumSq]), [batch]), rNorm]), [batch])
  const objective = known(b.op('Div', [dot, norms]), [batch])
  // An index over the graph as built so far: the walker differentiates the nodes just added.
  const index = new GraphIndex(b.build())
  const ones = b.op('Expand', [b.constF32([1], []), b.op('Shape', [objective])])
  const grad = buildBackward({ index, builder: b, shapes, types, wrt: [e], seeds: new Map([[objective, ones]]) }).get(e)!
  return { scoreSeed: e === m.score.name ? grad : b.op('Reshape', [grad, b.op('Shape', [m.score.name])]), objective }
}
