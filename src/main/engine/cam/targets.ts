import { basename, extname } from 'node:path'
import type { Preprocess } from '../data/preprocess-spec'
import { floatTensor, OrtSession } from '../exec/ort'
import { inputError, loadInput } from '../model/inputs'
import { buildScoresGraph } from './graph'
import { ApiError } from '../../../shared/errors'
import { parseTarget, TargetSyntaxError, TARGET_SYNTAX, type TargetSpec } from '../../../shared/targets'
import type { LoadedModel } from '../model/loaded-model'
import type { CamTarget } from './objective'

/** A target whose reference embedding is still to be computed (planCam runs the model on the reference first). */
export type PlannedTarget = Exclude<CamTarget, { kind: 'similarity' }> | { kind: 'similarity'; reference: string }

const bad = (message: string, constraint: string, value: string | number) => new ApiError('invalid-arguments', message, undefined, { field: 'target', constraint, value })

/**
 * Reads cam.run's `target` against the model: a class (top-1, index, label), a contrast of two classes,
 * an output, a region of a segmentation output, or a similarity to a reference picture. A label wins
 * over a prefix (a class called "region:x" is that class). Every mistake names the `target` field.
 */
export function resolveCamTarget(m: LoadedModel, target: string | number | undefined): PlannedTarget {
  if (typeof target === 'string' && m.labels?.includes(target)) return { kind: 'class', index: m.labels.indexOf(target) }
  let spec: TargetSpec
  try {
    spec = parseTarget(target)
  } catch (err) {
    if (err instanceof TargetSyntaxError) throw bad(`${err.message} Targets: ${TARGET_SYNTAX}.`, 'syntax', String(target))
    throw err
  }
  switch (spec.kind) {
    case 'class':
      return { kind: 'class', index: m.resolveTarget(spec.class) }
    case 'output':
      if (m.segmentation) throw bad(`"output:${spec.index}" is for [N, K] outputs; ${m.file} outputs per-pixel scores: use region:<class>@x0,y0,x1,y1.`, 'segmentation', String(target))
      if (spec.index >= m.numClasses) {
        throw new ApiError('out-of-range', `Output ${spec.index} is out of range: ${m.file} has ${m.numClasses} output${m.numClasses === 1 ? '' : 's'} (0-${m.numClasses - 1}).`, m.path, { field: 'target', constraint: 'range', value: spec.index, max: m.numClasses - 1 })
      }
      return { kind: 'output', index: spec.index }
    case 'contrast': {
      if (m.numClasses < 2) throw bad(`${m.file} has a single output: there is nothing to contrast it with.`, 'single-output', String(target))
      const a = m.resolveTarget(spec.a)
      const b = m.resolveTarget(spec.b)
      if (a < 0 || b < 0) throw bad(`"${target}": a contrast needs two classes (indices or labels), not top1.`, 'class', String(target))
      if (a === b) throw bad(`"${target}" names class ${a} twice; a contrast needs two different classes.`, 'same-class', String(target))
      return { kind: 'contrast', a, b }
    }
    case 'region': {
      if (!m.segmentation) {
        throw bad(`A region target needs a segmentation model (per-pixel scores [N, C, H, W]); ${m.file} outputs [N, ${m.numClasses}].`, 'not-segmentation', String(target))
      }
      const [, , h, w] = m.shapes.get(m.score.name)!
      const index = m.resolveTarget(spec.class)
      if (index < 0) throw bad(`A region target needs a class (top1 is per image, the region is not): region:<class>@x0,y0,x1,y1.`, 'class', String(target))
      const box = spec.box ?? [0, 0, w, h]
      if (box[2] > w || box[3] > h) {
        throw new ApiError('out-of-range', `The region ${box.join(',')} lies outside ${m.file}'s ${w}x${h} output (width x height; output pixels, x1 and y1 excluded).`, m.path, { field: 'target', constraint: 'region-bounds', value: String(target), width: w, height: h })
      }
      return { kind: 'region', index, box }
    }
    case 'similarity':
      if (m.segmentation) throw bad(`A similarity target needs an embedding output [N, D]; ${m.file} outputs per-pixel scores.`, 'segmentation', String(target))
      return { kind: 'similarity', reference: spec.reference }
  }
}

/** The class a target's result is filed under (cam.run's per-image target; -1: each image's top-1). */
export function targetClass(t: PlannedTarget): number {
  switch (t.kind) {
    case 'class':
    case 'output':
    case 'region':
      return t.index
    case 'contrast':
      return t.a
    case 'similarity':
      return -1
  }
}

/** What a result's target label says for the targets beyond one class's score (the class's own label otherwise). */
export function describeTarget(m: LoadedModel, t: PlannedTarget): string | null {
  switch (t.kind) {
    case 'class':
      return null
    case 'output':
      return `output ${t.index}${m.labels ? ` (${m.labelOf(t.index)})` : ''}`
    case 'contrast':
      return `${m.labelOf(t.a)} − ${m.labelOf(t.b)}`
    case 'region':
      return `${m.labelOf(t.index)} in x ${t.box[0]}-${t.box[2]}, y ${t.box[1]}-${t.box[3]}`
    case 'similarity':
      return `similarity to ${basename(t.reference)}`
  }
}

/**
 * The reference picture's embedding for a similarity target: loaded with the run's preprocessing and run
 * through the model once (the [N, D] scores before any final activation), before the gradient graph is built.
 */
export async function referenceEmbedding(m: LoadedModel, pre: Preprocess, reference: string, threads?: number): Promise<Float32Array> {
  const kind = extname(reference).toLowerCase() === '.npy' ? ('tensor' as const) : ('image' as const)
  let x: Float32Array
  try {
    x = await loadInput({ path: reference, kind, stem: basename(reference) }, m, pre)
  } catch (err) {
    const e = inputError({ path: reference }, err)
    throw new ApiError('invalid-arguments', `The similarity reference ${reference} cannot be used: ${e.message}`, reference, { field: 'target', constraint: 'reference' })
  }
  const g = buildScoresGraph(m)
  const session = await OrtSession.create(g.bytes, m.path, { intraOpThreads: threads })
  try {
    const n = m.dynamicBatch ? 1 : m.fixedBatch
    const batch = new Float32Array(n * x.length)
    for (let i = 0; i < n; i++) batch.set(x, i * x.length)
    const out = await session.run({ [m.inputName]: floatTensor(batch, m.inputDims(n)) })
    return Float32Array.from((out[g.scores].data as Float32Array).subarray(0, m.numClasses))
  } finally {
    await session.release()
  }
}
