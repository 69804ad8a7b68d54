import { beforeAll, describe, expect, it } from 'vitest'
import { methods } from '../../src/shared/api'

/**
 * The run panel's parameter controls and what they send (src/renderer/src/lib/attribution-params.ts):
 * derived from the registry and the cam.run schema. Loaded at run time: tsconfig.node.json does not
 * list renderer files (vue-tsc checks the module itself).
 */
type Values = { steps: number; integration: string; baseline: string; baselineImage: string; samples: number; noise: number; seed: number; cellSize?: number }
type Lib = {
  attributionDefaults: () => Values
  paramControls: (method: string) => { name: string }[]
  attributionArgs: (method: string, v: Values) => Record<string, string | number>
}
const modulePath = ['..', '..', 'src', 'renderer', 'src', 'lib', 'attribution-params.ts'].join('/')
let attributionDefaults: Lib['attributionDefaults']
let paramControls: Lib['paramControls']
let attributionArgs: Lib['attributionArgs']

beforeAll(async () => {
  ;({ attributionDefaults, paramControls, attributionArgs } = (await import(/* @vite-ignore */ modulePath)) as Lib)
})

describe('attribution parameters in the run panel', () => {
  it('defaults are cam.run\'s own', () => {
    const parsed = methods['cam.run'].args.parse({ modelId: 'm', imageIds: ['a'] })
    const d = attributionDefaults()
    expect(d).toMatchObject({ steps: parsed.steps, integration: parsed.integration, baseline: parsed.baseline, samples: parsed.samples, noise: parsed.noise, seed: parsed.seed })
  })

  it('a method gets controls for the parameters the registry says it reads, with the schema\'s limits', () => {
    expect(paramControls('gradcam')).toEqual([])
    expect(paramControls('smoothgrad').map((c) => c.name)).toEqual(['samples', 'noise', 'seed'])
    expect(paramControls('integratedgradients').find((c) => c.name === 'steps')).toEqual({ name: 'steps', kind: 'number', min: 2, max: 1024, step: 1 })
    expect(paramControls('smoothgrad').find((c) => c.name === 'noise')).toEqual({ name: 'noise', kind: 'number', min: 0, max: 1, step: 'any' })
  })

  it('Occlusion and RISE: their own controls and what they send, which cam.run accepts', () => {
    expect(paramControls('occlusion').map((c) => c.name)).toEqual(['window', 'stride', 'baseline', 'baselineImage', 'seed'])
    expect(paramControls('rise').map((c) => c.name)).toEqual(['masks', 'cellSize', 'keep', 'baseline', 'baselineImage', 'seed'])
    expect(paramControls('rise').find((c) => c.name === 'masks')).toEqual({ name: 'masks', kind: 'number', min: 1, max: 20000, step: 1 })
    expect(paramControls('rise').find((c) => c.name === 'keep')).toMatchObject({ kind: 'number', max: 1, step: 'any' })
    const v = { ...attributionDefaults(), window: 4 } as Values & Record<string, number | string>
    expect(attributionArgs('occlusion', v)).toEqual({ window: 4, stride: 8, baseline: 'black', seed: 0 })
    // RISE's cell size is left to the engine (the input's side / 7) until one is typed; an emptied field is the same.
    expect(attributionArgs('rise', v)).toEqual({ masks: 1000, keep: 0.5, baseline: 'black', seed: 0 })
    expect(attributionArgs('rise', { ...v, cellSize: 8 })).toMatchObject({ cellSize: 8 })
    expect(paramControls('rise').find((c) => c.name === 'cellSize')).toMatchObject({ optional: true, min: 1, max: 1024 })
    for (const method of ['occlusion', 'rise']) expect(() => methods['cam.run'].args.parse({ modelId: 'm', imageIds: ['a'], method, ...attributionArgs(method, v) })).not.toThrow()
  })

  it('a run sends only what its method reads; the baseline image only with baseline "image"', () => {
    const v = { ...attributionDefaults(), steps: 8, baselineImage: '/x/cat.png' }
    expect(attributionArgs('gradcam', v)).toEqual({})
    expect(attributionArgs('vargrad', v)).toEqual({ samples: 25, noise: 0.15, seed: 0 })
    expect(attributionArgs('integratedgradients', v)).toEqual({ steps: 8, integration: 'gausslegendre', baseline: 'black', seed: 0 })
    expect(attributionArgs('integratedgradients', { ...v, baseline: 'image' })).toMatchObject({ baseline: 'image', baselineImage: '/x/cat.png' })
    // What it sends is what cam.run accepts.
    expect(() => methods['cam.run'].args.parse({ modelId: 'm', imageIds: ['a'], method: 'integratedgradients', ...attributionArgs('integratedgradients', { ...v, baseline: 'image' }) })).not.toThrow()
  })
})
