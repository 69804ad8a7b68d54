/**
 * What a gradient map explains, written as one string (cam.run's `target`, the CLI's --target, a saved
 * run's settings). Read here, without the model, by the engine, the CLI and the UI alike:
 *
 * - `top1`, a class index (`5`) or a label (`tabby cat`): the score of that class (the default).
 * - `contrast:A,B`: score(A) - score(B), "why A and not B" (A and B: indices or labels).
 * - `output:k`: the k-th output (before a final Sigmoid), for multi-label or regression models.
 * - `region:C@x0,y0,x1,y1`: a segmentation model's class C logits summed over the output pixels
 *   x0 <= x < x1, y0 <= y < y1 (output pixels, half-open as Python slices); `region:C` is the whole output.
 * - `similarity:FILE`: the cosine similarity between the image's embedding ([N, D] output) and the
 *   embedding of the reference picture FILE.
 *
 * A label that itself starts with one of these prefixes is still that class: the engine looks labels
 * up first.
 */
export type TargetSpec =
  | { kind: 'class'; class: string | number }
  | { kind: 'contrast'; a: string | number; b: string | number }
  | { kind: 'output'; index: number }
  | { kind: 'region'; class: string | number; box: [number, number, number, number] | null }
  | { kind: 'similarity'; reference: string }

export type TargetKind = TargetSpec['kind']

/** A bad target string: the message says what was expected (the engine names the `target` field). */
export class TargetSyntaxError extends Error {}

export const TARGET_SYNTAX = 'top1 | <class> | contrast:<A>,<B> | output:<k> | region:<class>@<x0>,<y0>,<x1>,<y1> | similarity:<image file>'

const classRef = (s: string): string | number => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : s.trim())

/** Reads a target string (or a class index). Throws TargetSyntaxError naming the expected form. */
export function parseTarget(target: string | number | undefined): TargetSpec {
  if (target === undefined || target === '' || target === 'top1') return { kind: 'class', class: 'top1' }
  if (typeof target === 'number') return { kind: 'class', class: target }
  const colon = target.indexOf(':')
  const prefix = colon > 0 ? target.slice(0, colon) : ''
  const rest = target.slice(colon + 1)
  switch (prefix) {
    case 'contrast': {
      const parts = rest.split(',')
      if (parts.length !== 2 || parts.some((p) => !p.trim())) throw new TargetSyntaxError(`"${target}" is not contrast:<A>,<B> (two classes, indices or labels, separated by a comma).`)
      const [a, b] = parts.map(classRef)
      if (a === b) throw new TargetSyntaxError(`"${target}" contrasts a class with itself; give two different classes.`)
      return { kind: 'contrast', a, b }
    }
    case 'output': {
      if (!/^\d+$/.test(rest.trim())) throw new TargetSyntaxError(`"${target}" is not output:<k> (k a whole number from 0).`)
      return { kind: 'output', index: Number(rest.trim()) }
    }
    case 'region': {
      const at = rest.lastIndexOf('@')
      const cls = (at < 0 ? rest : rest.slice(0, at)).trim()
      if (!cls) throw new TargetSyntaxError(`"${target}" names no class: write region:<class>@<x0>,<y0>,<x1>,<y1>.`)
      if (at < 0) return { kind: 'region', class: classRef(cls), box: null }
      const nums = rest.slice(at + 1).split(',').map((s) => s.trim())
      if (nums.length !== 4 || nums.some((n) => !/^\d+$/.test(n))) {
        throw new TargetSyntaxError(`"${target}": the rectangle must be four whole numbers x0,y0,x1,y1 (output pixels, x1 and y1 excluded).`)
      }
      const [x0, y0, x1, y1] = nums.map(Number)
      if (x1 <= x0 || y1 <= y0) throw new TargetSyntaxError(`"${target}": the rectangle is empty (x1 must exceed x0 and y1 exceed y0).`)
      return { kind: 'region', class: classRef(cls), box: [x0, y0, x1, y1] }
    }
    case 'similarity': {
      if (!rest.trim()) throw new TargetSyntaxError(`"${target}" names no reference picture: write similarity:<image file>.`)
      return { kind: 'similarity', reference: rest.trim() }
    }
    default:
      return { kind: 'class', class: classRef(target) }
  }
}

/** The target string for a spec (parseTarget's inverse), as the UI builds it. */
export function formatTarget(t: TargetSpec): string {
  switch (t.kind) {
    case 'class':
      return String(t.class)
    case 'contrast':
      return `contrast:${t.a},${t.b}`
    case 'output':
      return `output:${t.index}`
    case 'region':
      return `region:${t.class}${t.box ? `@${t.box.join(',')}` : ''}`
    case 'similarity':
      return `similarity:${t.reference}`
  }
}

/**
 * What a model's first output is, as the model loader reads it (ModelSummary.outputKind):
 * - `classes`: [N, K] ending in Softmax/LogSoftmax, or without an activation but with labels;
 * - `multilabel`: [N, K] ending in Sigmoid;
 * - `regression`: [N, 1] without an activation;
 * - `scores`: [N, K] without an activation and without labels: class scores or an embedding; the model
 *   cannot say which, so the user chooses (a class target or `similarity`);
 * - `segmentation`: [N, C, H, W] with H x W > 1: per-pixel class scores.
 */
export const OUTPUT_KINDS = ['classes', 'multilabel', 'regression', 'scores', 'segmentation'] as const
export type OutputKind = (typeof OUTPUT_KINDS)[number]

/** The target kinds the UI offers for a model's output kind (the engine accepts a few more: it is the user's call). */
export function targetKindsFor(kind: OutputKind | undefined): TargetKind[] {
  switch (kind) {
    case 'multilabel':
      return ['class', 'output', 'contrast']
    case 'regression':
      return ['output']
    case 'scores':
      return ['class', 'contrast', 'output', 'similarity']
    case 'segmentation':
      return ['class', 'region', 'contrast']
    default:
      return ['class', 'contrast']
  }
}
