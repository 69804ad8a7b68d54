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
}

/** A parameter's control, read off the API schema so its defaults and limits cannot drift from cam.run's. */
export type ParamControl =
  | { name: AttributionParam; kind: 'number'; min: number; max: number; step: number | 'any' }
  | { name: AttributionParam; kind: 'choice'; options: readonly string[] }
  | { name: 'baselineImage'; kind: 'image' }

const F = AttributionFields

export function attributionDefaults(): AttributionValues {
  return { steps: F.steps.parse(undefined), integration: F.integration.parse(undefined), baseline: F.baseline.parse(undefined), baselineImage: '', samples: F.samples.parse(undefined), noise: F.noise.parse(undefined), seed: F.seed.parse(undefined) }
}

function numberControl(name: 'steps' | 'samples' | 'noise' | 'seed'): ParamControl {
  const n = F[name].unwrap()
  return { name, kind: 'number', min: n.minValue ?? 0, max: n.maxValue ?? Number.MAX_SAFE_INTEGER, step: n.isInt ? 1 : 'any' }
}

const CONTROLS: Record<AttributionParam, ParamControl> = {
  steps: numberControl('steps'),
  samples: numberControl('samples'),
  noise: numberControl('noise'),
  seed: numberControl('seed'),
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
    } else out[c.name] = v[c.name]
  }
  return out as Partial<AttributionValues>
}
