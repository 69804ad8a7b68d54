import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { onnx } from 'onnx-proto'
import type { ModelSummary, TensorInfo } from '../../../shared/api'
import { fileError } from '../errors'
import { graphOf, toNumber, type ModelProto } from './model-file'
import { regularFile } from '../files/read'

const ELEM_TYPES: Record<number, string> = Object.fromEntries(
  Object.entries(onnx.TensorProto.DataType).map(([k, v]) => [v as number, k.toLowerCase()])
)

function tensorInfo(v: onnx.IValueInfoProto): TensorInfo {
  const t = v.type?.tensorType
  return {
    name: v.name ?? '',
    elemType: ELEM_TYPES[t?.elemType ?? 0] ?? 'undefined',
    shape: (t?.shape?.dim ?? []).map((d) =>
      d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined ? toNumber(d.dimValue) : null
    )
  }
}

const LABEL_KEYS = ['labels', 'classes', 'class_names']

/** One way of reading a labels metadata entry, in order of preference. */
export interface LabelReading {
  key: string
  how: 'JSON' | 'lines' | 'comma-separated'
  labels: string[]
}

/**
 * Every plausible reading of the labels metadata (the first key exporters use that is present):
 * a JSON array or {index: label} object, one label per line, or a comma-separated list. Which one
 * is right depends on the class count, which only the probe knows (see chooseLabels).
 */
export function labelReadings(meta: Record<string, string>): LabelReading[] {
  for (const key of LABEL_KEYS) {
    const raw = meta[key]
    if (!raw || !raw.trim()) continue
    const out: LabelReading[] = []
    try {
      const parsed: unknown = JSON.parse(raw)
      if (Array.isArray(parsed)) out.push({ key, how: 'JSON', labels: parsed.map(String) })
      else if (parsed && typeof parsed === 'object') {
        const entries = Object.entries(parsed as Record<string, unknown>).sort((a, b) => Number(a[0]) - Number(b[0]))
        out.push({ key, how: 'JSON', labels: entries.map(([, v]) => String(v)) })
      }
    } catch {
      // Not JSON: plain text, read below.
    }
    if (!out.length) {
      out.push({ key, how: 'lines', labels: raw.split(/\r?\n/).map((s) => s.trim()).filter(Boolean) })
      // "cat,dog,bird" (or a Python list repr "['cat', 'dog']"). ImageNet-style labels contain commas
      // themselves ("tench, Tinca tinca"), so this reading is only taken when its count is right.
      const list = raw.trim().replace(/^\[(.*)\]$/s, '$1')
      const parts = list.split(',').map((s) => s.trim().replace(/^(['"])(.*)\1$/s, '$2').trim())
      if (parts.length > 1 && parts.every(Boolean)) out.push({ key, how: 'comma-separated', labels: parts })
    }
    return out
  }
  return []
}

/** Labels from metadata, before the class count is known: the preferred reading (see labelReadings). */
export function labelsFromMetadata(meta: Record<string, string>): string[] | null {
  return labelReadings(meta)[0]?.labels ?? null
}

/**
 * Picks the labels metadata reading whose count matches the class count. Malformed metadata never
 * makes a model unusable: with no matching reading the result is null (class numbers are shown)
 * and a warning says why.
 */
export function chooseLabels(meta: Record<string, string>, numClasses: number, file: string): { labels: string[] | null; warning: string | null } {
  const readings = labelReadings(meta)
  if (!readings.length) {
    const key = LABEL_KEYS.find((k) => k in meta)
    return { labels: null, warning: key ? `The "${key}" metadata of ${file} is empty; classes are shown by number.` : null }
  }
  const match = readings.find((r) => r.labels.length === numClasses)
  if (match) return { labels: match.labels, warning: null }
  const counts = readings.map((r) => `${r.labels.length} as ${r.how}`).join(', ')
  return {
    labels: null,
    warning: `The "${readings[0].key}" metadata of ${file} does not list ${numClasses} labels (read ${counts}) but the model outputs ${numClasses} classes; classes are shown by number (give a labels file to name them).`
  }
}

export async function readLabelsFile(path: string): Promise<string[]> {
  await regularFile(path, 'labels')
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw fileError(err, path, 'labels')
  })
  return text.split(/\r?\n/).map((s) => s.trim()).filter(Boolean)
}

export function summarize(model: ModelProto, path: string, fileBytes: number, labels: string[] | null): Omit<ModelSummary, 'preprocess'> {
  const g = graphOf(model)
  const initNames = new Set(g.initializer.map((t) => t.name))
  const opTypes: Record<string, number> = {}
  for (const n of g.node) opTypes[n.opType ?? '?'] = (opTypes[n.opType ?? '?'] ?? 0) + 1
  const metadata: Record<string, string> = {}
  for (const p of model.metadataProps) if (p.key) metadata[p.key] = p.value ?? ''
  const opsets: Record<string, number> = {}
  for (const o of model.opsetImport) opsets[o.domain || 'ai.onnx'] = toNumber(o.version)
  const parameterCount = g.initializer.reduce((sum, t) => sum + (t.dims ?? []).reduce((p: number, d) => p * toNumber(d), 1), 0)
  return {
    id: createHash('sha1').update(path).digest('hex').slice(0, 16),
    path,
    format: 'onnx',
    fileBytes,
    irVersion: toNumber(model.irVersion),
    opsets,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    // Older exporters list initializers among graph inputs; the user feeds only the rest.
    inputs: g.input.filter((i) => !initNames.has(i.name ?? '')).map(tensorInfo),
    outputs: g.output.map(tensorInfo),
    nodeCount: g.node.length,
    parameterCount,
    opTypes,
    metadata,
    labels: labels ?? labelsFromMetadata(metadata)
  }
}
