import { basename } from 'node:path'
import { onnx } from 'onnx-proto'
import { sizeFromMetadata } from '../data/preprocess-metadata'
import { inferPreprocess } from '../data/preprocess-spec'
import { floatTensor } from '../exec/ort'
import { probeAll } from '../exec/probe'
import { foldConstants, type FoldProbe } from '../exec/fold'
import { GraphIndex } from '../onnx/ir'
import { graphOf, readOnnxModel, toNumber, type ModelProto } from '../onnx/model-file'
import { DataType } from '../onnx/tensor-data'
import { defaultOpset, TARGET_OPSET, upgradeModel } from '../onnx/upgrade'
import type { ModelFormat } from './types'

interface ImageProbe extends FoldProbe {
  /** Whether the file fixes the image's height and width. */
  fixedSize: boolean
}

/**
 * The image input and the dims a probe feeds: the size the engine will use by default (as LoadedModel
 * picks it: fixed dims, else the size metadata, else 224), at batch 1, then at batch 2 when the batch
 * is dynamic (a value that differs between the two depends on the batch size and is not folded).
 * None when the first input is not a float image (then only constant-only chains are folded).
 */
function imageProbe(model: ModelProto): ImageProbe | undefined {
  const g = graphOf(model)
  const inits = new Set(g.initializer.map((t) => t.name ?? ''))
  const input = g.input.find((v) => !inits.has(v.name ?? ''))
  const t = input?.type?.tensorType
  if (!input?.name || !t || t.elemType !== DataType.FLOAT) return undefined
  const shape = (t.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined ? toNumber(d.dimValue) : null))
  if (shape.length !== 4) return undefined
  let pre
  try {
    pre = inferPreprocess(shape)
  } catch {
    return undefined
  }
  const fixed = (d: number | string | null) => typeof d === 'number' && d > 0
  const dims = (n: number, [h, w]: [number, number]) => (pre.layout === 'NCHW' ? [n, pre.channels ?? 3, h, w] : [n, h, w, pre.channels ?? 3])
  const batch = fixed(shape[0]) ? (shape[0] as number) : 1
  const fixedSize = (pre.layout === 'NCHW' ? [shape[2], shape[3]] : [shape[1], shape[2]]).every(fixed)
  let size = pre.size
  if (!fixedSize) {
    try {
      size = sizeFromMetadata(Object.fromEntries(model.metadataProps.map((p) => [p.key ?? '', p.value ?? '']))) ?? size
    } catch {
      // Bad size metadata is LoadedModel's to report; the probe keeps the default size.
    }
  }
  const out = [dims(batch, size)]
  if (!fixed(shape[0])) out.push(dims(2, size))
  return { input: input.name, dims: out, fixedSize }
}

/** Static shapes of the original model (onnxruntime runs old opsets natively), when a probe can run. */
async function originalShapes(model: ModelProto, probe: ImageProbe | undefined, label: string): Promise<Map<string, number[]> | undefined> {
  if (!probe) return undefined
  const g = graphOf(model)
  const declared = new Set([...g.input, ...g.output, ...g.valueInfo].filter((v) => v.type?.tensorType?.shape).map((v) => v.name ?? ''))
  const needsRanks = g.node.some((n) => ['Softmax', 'LogSoftmax', 'Hardmax'].includes(n.opType ?? '') && !declared.has(n.input?.[0] ?? '') && !declared.has(n.output?.[0] ?? ''))
  if (!needsRanks) return undefined
  const dims = probe.dims[0]
  const data = new Float32Array(dims.reduce((p, d) => p * d, 1))
  try {
    return await probeAll(new GraphIndex(model), { [probe.input]: floatTensor(data, dims) }, label)
  } catch {
    // Without shapes the Softmax rule writes its rank-independent form.
    return undefined
  }
}

/** ONNX files: the fallback format (any file no other format claims is tried as ONNX). */
export const onnxFormat: ModelFormat = {
  name: 'onnx',
  match: () => true,
  async open(path, onPhase) {
    const { model, bytes } = await readOnnxModel(path)
    const warnings: string[] = []
    const probe = imageProbe(model)
    let current = model
    let changed = false
    const from = defaultOpset(model)
    if (from < TARGET_OPSET) {
      onPhase?.('converting')
      const up = upgradeModel(model, { file: path, shapes: await originalShapes(model, probe, path) })
      current = up.model
      changed = true
      warnings.push(`${basename(path)} was upgraded from ONNX opset ${from} to ${up.to} in memory (the file is unchanged).`)
    }
    // Folding only helps the gradient rules; a graph it cannot handle is opened as it is, and whatever
    // is wrong with it is reported when it is run. Values computed from shapes are folded only when the
    // file fixes the image size: with a dynamic size they could hold for the probe's size alone (TF
    // "same" pads of 224 and 256 agree, those of 225 do not), and the size is chosen later.
    onPhase?.('preparing')
    const folded = await foldConstants(current, { label: path, probe: probe?.fixedSize ? probe : undefined }).catch(() => null)
    if (folded?.changed) {
      current = folded.model
      changed = true
    }
    let sizeDependent: { warning: string } | undefined
    if (folded?.unfolded.length) {
      const list = folded.unfolded.slice(0, 3).join(', ') + (folded.unfolded.length > 3 ? ` and ${folded.unfolded.length - 3} more` : '')
      const warning = `${basename(path)}: ${list} take operands computed from the input's size, which is not fixed; gradient methods cannot pass through them (export the model with a fixed input size).`
      warnings.push(warning)
      sizeDependent = { warning }
    }
    if (folded?.weights) warnings.push(`${basename(path)} stores ${folded.weights} weight tensors as Constant nodes; they are treated as parameters.`)
    if (!changed) return { format: 'onnx', model, bytes, warnings, sizeDependent }
    // Decoded again from the bytes, so downstream code sees exactly what onnxruntime will run.
    const encoded = onnx.ModelProto.encode(current).finish()
    return { format: 'onnx', model: onnx.ModelProto.decode(encoded), bytes: encoded, warnings, sizeDependent }
  }
}
