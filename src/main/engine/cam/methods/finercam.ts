import type { GraphBuilder } from '../../onnx/builder'
import type { GradientCamModule } from './base'
import { gradcam } from './gradcam'

/** FinerCAM's alpha (pytorch-grad-cam's default): how much of the similar classes' mean score is taken away. */
export const FINER_ALPHA = 1
/** How many of the nearest classes it compares with (pytorch-grad-cam's comparison_categories [1, 2, 3]). */
export const FINER_COMPARISONS = 3

/**
 * FinerCAM (pytorch-grad-cam's FinerCAM over its default base, Grad-CAM): Grad-CAM of
 * y_t - alpha * mean_j y_cj, where c_1..c_3 are the classes whose scores are nearest to the target's
 * (|y_c - y_t| smallest), so the map shows what tells the class apart from the ones the model nearly
 * took instead. The objective is linear in the scores: only the seed changes, built in-graph per image.
 */
export const finercam: GradientCamModule = {
  id: 'finercam',
  kind: 'gradient',
  reference: gradcam.reference,
  emit: gradcam.emit,
  reseed: finerSeed
}

/**
 * seed - (alpha / n) * sum_j onehot(c_j): the n = min(3, classes - 1) classes nearest to the target in
 * score, found by TopK of -|scores - y_t| (ties: the lower class index first, as a stable sort would;
 * the target itself, at distance 0, comes first and is skipped).
 */
export function finerSeed(b: GraphBuilder, scores: string, seed: string, classes: number): string {
  const n = Math.min(FINER_COMPARISONS, classes - 1)
  if (n < 1) return seed
  const yt = b.reduce('ReduceSum', b.op('Mul', [scores, seed]), [1]) // [B, 1]
  const distance = b.op('Neg', [b.op('Abs', [b.op('Sub', [scores, yt])])])
  const [, nearest] = b.node('TopK', [distance, b.constI64([n + 1])], { axis: 1, largest: 1, sorted: 1 }, 2)
  const others = b.op('Slice', [nearest, b.constI64([1]), b.constI64([n + 1]), b.constI64([1])]) // [B, n]
  const hot = b.op('OneHot', [others, b.constI64([classes], []), b.constF32([0, 1])], { axis: -1 }) // [B, n, classes]
  const mean = b.op('Mul', [b.reduce('ReduceSum', hot, [1], 0), b.constF32([FINER_ALPHA / n], [])])
  return b.op('Sub', [seed, mean])
}
