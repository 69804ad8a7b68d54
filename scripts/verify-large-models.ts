/**
 * Acceptance check on full-size torchvision models (too large to commit): compares our Grad-CAM with
 * the PyTorch autograd references that scripts/fixtures/make_large_models.py wrote to the cache.
 *   /usr/bin/python3 scripts/fixtures/make_large_models.py      # once: models + references
 *   npx tsx scripts/verify-large-models.ts [name...]
 * Prints one line per case and exits 1 if any map has Pearson r < 0.999.
 */
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { CamRunner } from '../src/main/engine/cam/runner'
import type { CamMethod } from '../src/main/engine/cam/methods'
import { LoadedModel } from '../src/main/engine/model/loaded-model'
import { loadInputs, loadManifests, loadMaps, maxAbs, pearson } from '../test/cam-reference'
import { minOf } from '../src/shared/stats'

async function main(): Promise<number> {
  const root = join(process.env.METASCOPE_CACHE ?? join(homedir(), '.cache', 'metascope', 'large'), 'cam')
  if (!existsSync(root)) {
    console.error(`No references in ${root}: run /usr/bin/python3 scripts/fixtures/make_large_models.py first.`)
    return 2
  }
  const only = process.argv.slice(2)
  let worst = 1
  for (const m of loadManifests(root).filter((x) => !only.length || only.includes(x.name))) {
    const model = await LoadedModel.open(m.model)
    const inputs = await loadInputs(m)
    for (const c of m.cases) {
      const runner = await CamRunner.create(model, { method: c.method as CamMethod, layer: c.layer_scope || 'auto' })
      const out = await runner.run(inputs, c.targets ?? inputs.map(() => -1))
      const refs = await loadMaps(m, c.map)
      const rs = out.map((r, i) => (maxAbs(refs[i]) < 1e-6 ? (maxAbs(r.map) < 1e-6 ? 1 : 0) : pearson(r.map, refs[i])))
      const sameLayer = runner.layer === c.layer_tensor
      const sameTargets = out.every((r, i) => r.target.index === c.targets_used[i])
      worst = Math.min(worst, minOf(rs), sameLayer && sameTargets ? 1 : 0)
      console.log(
        `${m.name.padEnd(16)} ${c.id.padEnd(16)} layer=${runner.layer} r=[${rs.map((r) => r.toFixed(6)).join(', ')}]` +
          `${sameLayer ? '' : ` LAYER MISMATCH (reference ${c.layer_tensor})`}${sameTargets ? '' : ' TARGET MISMATCH'}`
      )
      await runner.release()
    }
  }
  console.log(`worst Pearson r: ${worst.toFixed(6)} (${worst >= 0.999 ? 'PASS' : 'FAIL'}: threshold 0.999)`)
  return worst >= 0.999 ? 0 : 1
}

main().then((code) => process.exit(code))
