import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { onnx } from 'onnx-proto'
import type { ModelSummary, TensorInfo } from '../../../shared/api'
import { fileError } from '../errors'
import { graphOf, toNumber, type ModelProto } from './model-file'

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

/** Labels from metadata: a JSON array, or one label per line, under a few keys exporters use. */
export function labelsFromMetadata(meta: Record<string, string>): string[] | null {
  for (const key of ['labels', 'classes', 'class_names']) {
    const raw = meta[key]
    if (!raw) continue
    try {
      const parsed: unknown = JSON.parse(raw)
      if (Array.isArray(parsed)) return parsed.map(String)
      if (parsed && typeof parsed === 'object') {
        const entries = Object.entries(parsed as Record<string, unknown>).sort((a, b) => Number(a[0]) - Number(b[0]))
        return entries.map(([, v]) => String(v))
      }
    } catch {
      return raw.split(/\r?\n/).map((s) => s.trim()).filter(Boolean)
    }
  }
  return null
}

export async function readLabelsFile(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw fileError(err, path, 'labels')
  })
  return text.split(/\r?\n/).map((s) => s.trim()).filter(Boolean)
}

export function summarize(model: ModelProto, path: string, fileBytes: number, labels: string[] | null): ModelSummary {
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
