import { AttributionFields } from '../../../shared/api'
import { CAM_METHOD_CATALOGUE, type AttributionParam } from '../../../shared/registry/cam-methods'

/** The pixel attributions' parameters as the run panel holds them (cam.run's fields of the same names). */
export interface AttributionValues {
  steps: number
  integration: 'gausslegendre' | 'trapezoid'
  baseline: 'black' | 'blurred' | 'uniform' | 'image'
  /** The library image's path the path starts from with baseline `image`; '' while none is chosen. */
  baselineImage: string
  samples: number
  noise: number
  seed: number
  /** Occlusion's window and stride, RISE's masks, cell size and keep probability. */
  window: number
  stride: number
  masks: number
  /** undefined (the field left empty): the engine's own, the input's shorter side / 7. */
  cellSize: number | undefined
  keep: number
}

/** A parameter's control, read off the API schema so its defaults and limits cannot drift from cam.run's. */
export type ParamControl =
  | { name: AttributionParam; kind: 'number'; min: number; max: number; step: number | 'any'; optional?: boolean }
  | { name: AttributionParam; kind: 'choice'; options: readonly string[] }
  | { name: 'baselineImage'; kind: 'image' }

const F = AttributionFields

export function attributionDefaults(): AttributionValues {
  return { steps: F.steps.parse(undefined), integration: F.integration.parse(undefined), baseline: F.baseline.parse(undefined), baselineImage: '', samples: F.samples.parse(undefined), noise: F.noise.parse(undefined), seed: F.seed.parse(undefined), window: F.window.parse(undefined), stride: F.stride.parse(undefined), masks: F.masks.parse(undefined), cellSize: F.cellSize.parse(undefined), keep: F.keep.parse(undefined) }
}

export type NumberParam = 'steps' | 'samples' | 'noise' | 'seed' | 'window' | 'stride' | 'masks' | 'cellSize' | 'keep'

function numberControl(name: NumberParam): ParamControl {
  const n = F[name].unwrap()
  // An optional number (RISE's cell size) may be left empty: the engine then picks it for the model's input size.
  const optional = F[name].safeParse(undefined).data === undefined
  return { name, kind: 'number', min: n.minValue ?? 0, max: n.maxValue ?? Number.MAX_SAFE_INTEGER, step: n.isInt ? 1 : 'any', ...(optional ? { optional } : {}) }
}

const CONTROLS: Record<AttributionParam, ParamControl> = {
  steps: numberControl('steps'),
  samples: numberControl('samples'),
  noise: numberControl('noise'),
  seed: numberControl('seed'),
  window: numberControl('window'),
  stride: numberControl('stride'),
  masks: numberControl('masks'),
  cellSize: numberControl('cellSize'),
  keep: numberControl('keep'),
  integration: { name: 'integration', kind: 'choice', options: F.integration.unwrap().options },
  baseline: { name: 'baseline', kind: 'choice', options: F.baseline.unwrap().options },
  baselineImage: { name: 'baselineImage', kind: 'image' }
}

/** The controls of the parameters a method reads (the registry's `params`), in the registry's order. */
export function paramControls(method: string): ParamControl[] {
  return (CAM_METHOD_CATALOGUE.find((m) => m.id === method)?.params ?? []).map((p) => CONTROLS[p])
}

/**
 * cam.run's arguments for the parameters `method` reads; nothing for the CAMs. The baseline image goes
 * only with baseline `image` (the engine says so when it is missing).
 */
export function attributionArgs(method: string, v: AttributionValues): Partial<AttributionValues> {
  const out: Partial<Record<AttributionParam, string | number>> = {}
  for (const c of paramControls(method)) {
    if (c.name === 'baselineImage') {
      if (v.baseline === 'image' && v.baselineImage) out.baselineImage = v.baselineImage
    } else if (v[c.name] !== undefined) out[c.name] = v[c.name] as string | number
  }
  return out as Partial<AttributionValues>
}
