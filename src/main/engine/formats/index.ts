import { open as openFile } from 'node:fs/promises'
import type { ModelOpenPhase } from '../../../shared/events'
import type { ModelFormatId } from '../../../shared/registry/model-formats'
import { fileError } from '../errors'
import { onnxFormat } from './onnx'
import { tfjsGraphFormat, tfjsLayersFormat } from './tfjs-format'
import type { ModelFormat, OpenedModel } from './types'
import { regularFile } from '../files/read'

export type { ModelFormat, ModelFormatName, OpenedModel } from './types'

/** One module per format of the registry (src/shared/registry/model-formats.ts); a missing one does not compile. */
export const FORMAT_MODULES: { [K in ModelFormatId]: ModelFormat & { name: K } } = {
  onnx: onnxFormat as ModelFormat & { name: 'onnx' },
  'tfjs-layers': tfjsLayersFormat as ModelFormat & { name: 'tfjs-layers' },
  'tfjs-graph': tfjsGraphFormat as ModelFormat & { name: 'tfjs-graph' }
}

/** Tried in order; the first whose `match` says yes opens the file. ONNX is last: it claims anything. */
export const FORMATS: ModelFormat[] = [...Object.values(FORMAT_MODULES).filter((f) => f !== onnxFormat), onnxFormat]

async function readHead(path: string): Promise<Buffer> {
  let fh
  try {
    fh = await openFile(path, 'r')
  } catch (err) {
    throw fileError(err as NodeJS.ErrnoException, path, 'model')
  }
  try {
    const buf = Buffer.alloc(4096)
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0).catch(() => ({ bytesRead: 0 }))
    return buf.subarray(0, bytesRead)
  } finally {
    await fh.close()
  }
}

/** Opens a model file of any supported format as the engine's ONNX IR; `onPhase` hears each stage start. */
export async function openModelFile(path: string, onPhase?: (phase: ModelOpenPhase) => void): Promise<OpenedModel> {
  onPhase?.('reading')
  // Refused by type before any open: a FIFO would block the open, a device never end.
  await regularFile(path, 'model')
  const head = await readHead(path)
  const format = FORMATS.find((f) => f.match(path, head)) ?? onnxFormat
  return format.open(path, onPhase)
}
