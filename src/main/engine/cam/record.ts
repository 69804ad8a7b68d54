import type { ApiErrorShape } from '../../../shared/errors'
import type { CamOutcome } from './batch-job'
import type { Prediction } from './runner'
import { CAM_METHOD_CATALOGUE, type AttributionParam } from '../../../shared/registry/cam-methods'

/** One input's line in results.json / results.csv and the shape streamed to the UI. */
export type CamRecord =
  | {
      file: string
      stem: string
      ok: true
      kind: 'image' | 'tensor'
      top5: Prediction[]
      target: Prediction & { logit: number }
      layer: string
      method: string
      provider: string
      ms: number
      /** Range of the ReLU'd raw map (layer resolution), for shared-scale views. */
      rawMin: number
      rawMax: number
      rawShape: [number, number]
      /** The tensor whose class score was differentiated (before a final Softmax, when there is one). */
      scoreTensor?: string
      warnings?: string[]
      outputs?: { npy: string; png: string; rawNpy: string }
      /** The image's folder label (src/shared/folder-labels.ts), written by exports; null: it has none. */
      label?: string | null
      /** Integrated Gradients: sum(attribution) - (F(x) - F(baseline)), and F(x) - F(baseline). */
      completeness?: { error: number; delta: number }
      /** The method's parameters (pixel attributions: the ATTRIBUTION_PARAMS it reads). */
      params?: Record<string, string | number>
    }
  | { file: string; stem: string; ok: false; kind: 'image' | 'tensor'; error: ApiErrorShape; method: string; layer: string }

/** The parameters a method reads (the registry's `params`), picked from the run's settings. */
export function methodParams(method: string, settings: Partial<Record<AttributionParam, unknown>>): Record<string, string | number> | undefined {
  const names = CAM_METHOD_CATALOGUE.find((m) => m.id === method)?.params ?? []
  const picked = Object.fromEntries(names.flatMap((n) => (typeof settings[n] === 'string' || typeof settings[n] === 'number' ? [[n, settings[n] as string | number]] : [])))
  return Object.keys(picked).length ? picked : undefined
}

export function toRecord(o: CamOutcome, layer: string, method: string, provider: string, params?: Record<string, string | number>): CamRecord {
  if (!o.ok) return { file: o.input.path, stem: o.input.stem, ok: false, kind: o.input.kind, error: o.error, method, layer }
  let rawMin = Infinity
  let rawMax = -Infinity
  for (const v of o.result.raw) {
    if (v < rawMin) rawMin = v
    if (v > rawMax) rawMax = v
  }
  return {
    file: o.input.path,
    stem: o.input.stem,
    ok: true,
    kind: o.input.kind,
    top5: o.result.top5,
    target: o.result.target,
    layer,
    method,
    provider,
    ms: Math.round(o.ms * 1000) / 1000,
    rawMin,
    rawMax,
    rawShape: o.result.rawShape,
    scoreTensor: o.result.scoreTensor,
    ...(o.result.warnings?.length ? { warnings: o.result.warnings } : {}),
    ...(o.result.completeness ? { completeness: o.result.completeness } : {}),
    ...(params ? { params } : {})
  }
}

const paramsCell = (p: Record<string, string | number> | undefined) => (p ? Object.entries(p).map(([k, v]) => `${k}=${v}`).join(';') : '')
const csvCell = (v: string | number) => (typeof v === 'number' ? String(v) : `"${v.replace(/"/g, '""')}"`)

/**
 * results.csv: one row per input, top-1 and target, for spreadsheets. `label` (the folder label, empty
 * when the image has none), then the method's parameters (`name=value;...`) and Integrated Gradients'
 * completeness come last, so the columns before them keep their places for existing readers.
 */
export function recordsToCsv(records: CamRecord[]): string {
  const header = ['file', 'ok', 'method', 'layer', 'top1_index', 'top1_label', 'top1_probability', 'target_index', 'target_label', 'target_probability', 'ms', 'error', 'label', 'params', 'completeness_error', 'completeness_delta']
  const rows = records.map((r) =>
    r.ok
      ? [r.file, 'true', r.method, r.layer, r.top5[0].index, r.top5[0].label, r.top5[0].probability, r.target.index, r.target.label, r.target.probability, r.ms, '', r.label ?? '', paramsCell(r.params), r.completeness?.error ?? '', r.completeness?.delta ?? '']
      : [r.file, 'false', r.method, r.layer, '', '', '', '', '', '', '', r.error.message, '', '', '', '']
  )
  return [header, ...rows].map((row) => row.map((c) => csvCell(c as string | number)).join(',')).join('\n') + '\n'
}
