import { readFile, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { onnx } from 'onnx-proto'
import { ApiError } from '../../../shared/errors'
import { fileDetails, fileError } from '../errors'

export type ModelProto = onnx.ModelProto
export type GraphProto = onnx.GraphProto

/** Decoded messages always carry their repeated fields as arrays; the generated types say "maybe". */
export function graphOf(model: ModelProto): GraphProto {
  return model.graph as GraphProto
}

/** protobufjs hands int64 fields back as Long objects or numbers depending on the build; we want numbers. */
export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0
  return typeof v === 'number' ? v : v.toNumber()
}

/**
 * Reads and decodes an ONNX file. Every failure names the file: missing, empty, not protobuf,
 * or protobuf that is not a model (no graph).
 */
export async function readOnnxModel(path: string): Promise<{ model: ModelProto; bytes: Uint8Array }> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw fileError(err, path, 'model')
  })
  if (info.isDirectory()) throw new ApiError('bad-file', `${path} is a folder, not an ONNX model file.`, path, fileDetails('model', path, 'folder', { path }))
  if (info.size === 0) throw new ApiError('bad-file', `${basename(path)} is empty (0 bytes); it is not an ONNX model.`, path, fileDetails('model', path, 'empty'))
  const bytes = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    throw fileError(err, path, 'model')
  })
  let model: ModelProto
  try {
    model = onnx.ModelProto.decode(bytes)
  } catch (err) {
    throw new ApiError(
      'bad-file',
      `${basename(path)} is not a valid ONNX model (the file is truncated or not ONNX: ${(err as Error).message}).`,
      path,
      fileDetails('model', path, 'not-model', { reason: (err as Error).message })
    )
  }
  const graph = graphOf(model)
  if (!graph || (graph.node.length === 0 && graph.output.length === 0)) {
    throw new ApiError('bad-file', `${basename(path)} is not a valid ONNX model: it holds no graph.`, path, fileDetails('model', path, 'not-model', { reason: 'no graph' }))
  }
  refuseExternalData(model, path)
  return { model, bytes }
}

/**
 * ONNX "external data" names another file (any path) to read a tensor from. onnxruntime, given the
 * bytes, resolves it against the process's working folder, so a model file could make Metascope read
 * a file the user never chose: only self-contained models are opened.
 */
function refuseExternalData(model: ModelProto, path: string): void {
  const graphs: onnx.IGraphProto[] = [graphOf(model)]
  for (let i = 0; i < graphs.length; i++) {
    const g = graphs[i]
    const nodes = g.node ?? []
    const tensors = [...(g.initializer ?? []), ...nodes.flatMap((n) => (n.attribute ?? []).flatMap((a) => [a.t, ...(a.tensors ?? [])]))]
    // Subgraphs (If/Loop/Scan bodies) can hold tensors too.
    for (const n of nodes) for (const a of n.attribute ?? []) graphs.push(...[a.g, ...(a.graphs ?? [])].filter((x): x is onnx.IGraphProto => !!x))
    for (const t of tensors) {
      if (!t || (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL && !(t.externalData?.length ?? 0))) continue
      const location = t.externalData?.find((e) => e.key === 'location')?.value ?? '?'
      throw new ApiError(
        'unsupported',
        `${basename(path)} keeps tensor ${t.name ?? '(unnamed)'} as external data in another file (${JSON.stringify(location)}); Metascope opens only self-contained ONNX files. Save the model with its weights inside (onnx.save_model(model, path, save_as_external_data=False)).`,
        path,
        { tensor: t.name ?? null, location }
      )
    }
  }
}
