import type { AuditFile, AuditImage, AuditSettings, AuditSummary, ImageMethodNumbers, MethodRow } from '../../../../shared/audit'
import type { AuditMetricId } from '../../../../shared/registry/audit-metrics'
import type { AuditHooks, AuditPlan } from '../plan'
import type { Plane } from '../pixels'
import type { ScoreTask } from '../../model/scorer'

/**
 * One audit metric (Quantus-style): what it computes per image and CAM method, what it adds to the
 * summary, the CSVs and the report. Every hook is optional; the audit calls the hooks of the metrics the
 * user chose, in registry order (src/shared/registry/audit-metrics.ts), so adding a metric is its module
 * here and one line in ./index.ts.
 */
export interface AuditMetricModule {
  readonly id: AuditMetricId
  /** Numbers from the map alone (no forward pass), per image and method. */
  fromMap?(a: MapInput, out: ImageMethodNumbers): void
  /** Perturbed inputs to score with the plain model, per image and method; each result lands in `out`. */
  tasks?(a: TaskInput, s: TaskSettings, plane: Plane, out: ImageMethodNumbers): Iterable<ScoreTask>
  /** Worst-case lists this image may enter, as [list, score] (highest scores are kept). */
  offers?(image: AuditImage): [string, number][]
  /** Work over the whole set after every image (the sanity check's model randomisation). */
  afterImages?(a: AfterImagesInput): Promise<Partial<Pick<AuditFile, 'sanity'>>>
  /** The method row's columns and mean curves, from one method's numbers over the images. */
  summarizeMethod?(a: MethodSummaryInput): void
  /** The metric's part of the whole-set summary. */
  summarize?(a: SummaryInput): Partial<Pick<AuditSummary, 'calibration' | 'sanity' | 'where'>>
  /** Its columns in images.csv, once per CAM method (`<method>.<csv>`). */
  imageColumns?: readonly ImageColumn[]
  /** Its rows in curves.csv for one method: [curve, x, mean probability]. */
  curveRows?(curves: AuditSummary['curves'][string], s: AuditSettings): [string, number, number][]
  /** CSV files of its own: name -> content. */
  csvFiles?(f: AuditFile): Record<string, string>
  /** Its sentence in the report's faithfulness section (what it measures, with the settings used). */
  reportNote?(s: AuditSettings): string
  /** Its plots (inline SVG) in the report's faithfulness section. */
  reportPlots?(f: AuditFile): string[]
  /** A report section of its own (HTML). */
  reportSection?(f: AuditFile): Promise<string>
}

export interface MapInput {
  /** The map at the input size, [H*W] in [0, 1]. */
  map: Float32Array
  height: number
  width: number
  /** The image's box in [0, 1] image coordinates, when a boxes file gave one. */
  box?: [number, number, number, number]
}

/** The settings the perturbation metrics read. */
export type TaskSettings = Pick<AuditSettings, 'metrics' | 'steps' | 'roadPercentiles' | 'roadNoise' | 'seed'>

export interface TaskInput {
  /** The preprocessed image, [C*H*W] in the model's layout. */
  x: Float32Array
  /** Its map at the input size, [H*W] in [0, 1]. */
  map: Float32Array
  target: number
  /** p(target | x), for the confidence change. */
  probability: number
  /** The image's relative path and method: with the seed, they seed ROAD's noise. */
  path: string
  method: string
  /** The deletion/insertion baseline image (blur or mean), made on first use. */
  baseline: () => Float32Array
  /** Pixels by relevance, most relevant first: sorted once on first use, shared by the metrics. */
  order: () => Uint32Array
}

export interface AfterImagesInput {
  plan: AuditPlan
  hooks: AuditHooks
  images: AuditImage[]
  /** The tensor the CAM layer resolved to. */
  layer: string
}

export interface MethodSummaryInput {
  /** This method's numbers for every image that has them. */
  nums: ImageMethodNumbers[]
  row: MethodRow
  curves: AuditSummary['curves'][string]
  method: string
  /** The whole-set summary parts already made (the sanity verdict feeds the row). */
  parts: Partial<Pick<AuditSummary, 'calibration' | 'sanity' | 'where'>>
}

export interface SummaryInput {
  /** The images that were read, in path order. */
  ok: AuditImage[]
  settings: AuditSettings
  labels: string[]
  labelled: boolean
  sanity: AuditFile['sanity']
  worst: AuditFile['worst']
}

export interface ImageColumn {
  csv: string
  value: (n: ImageMethodNumbers) => unknown
}

export function mean(values: number[]): number | null {
  if (!values.length) return null
  let s = 0
  for (const v of values) s += v
  return s / values.length
}

export function meanCurve(curves: number[][]): number[] | null {
  if (!curves.length) return null
  const out = new Array<number>(curves[0].length).fill(0)
  for (const c of curves) for (let i = 0; i < out.length; i++) out[i] += c[i]
  return out.map((v) => v / curves.length)
}

/** The defined values of one field over the images' numbers. */
export function defined<T>(nums: ImageMethodNumbers[], f: (n: ImageMethodNumbers) => T | undefined): T[] {
  return nums.map(f).filter((v): v is T => v !== undefined)
}
