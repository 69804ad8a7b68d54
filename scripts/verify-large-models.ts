/**
 * Acceptance check on full-size torchvision models (too large to commit): compares our Grad-CAM with
 * the PyTorch autograd references that scripts/fixtures/make_large_models.py wrote to the cache.
 *   /usr/bin/python3 scripts/fixtures/make_large_models.py      # once: models + references
 *   npx tsx scripts/verify-large-models.ts [name...]
 * Applies the unit tests' bound (test/cam-reference.ts compareImage / REFERENCE_BOUNDS): per map,
 * Pearson r >= 0.999 with the reference map, and every raw (layer-resolution) value within
 * 1e-3 * max|reference raw| + 1e-6 of the reference's; an all-zero reference must give an all-zero map.
 * Also the layer and the target classes must be the reference's. Prints one line per case (r and
 * raw = worst |ours - reference| / bound, which must stay below 1) and exits 1 if any case fails.
 */
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { CamRunner } from '../src/main/engine/cam/runner'
import type { CamMethod } from '../src/main/engine/cam/methods'
import { LoadedModel } from '../src/main/engine/model/loaded-model'
import { REFERENCE_BOUNDS, compareImage, loadInputs, loadManifests, loadMaps } from '../test/cam-reference'
import { maxOf, minOf } from '../src/shared/stats'

async function main(): Promise<number> {
  const root = join(process.env.METASCOPE_CACHE ?? join(homedir(), '.cache', 'metascope', 'large'), 'cam')
  if (!existsSync(root)) {
    console.error(`No references in ${root}: run /usr/bin/python3 scripts/fixtures/make_large_models.py first.`)
    return 2
  }
  const only = process.argv.slice(2)
  let worstR = 1
  let worstRaw = 0
  let failed = 0
  let total = 0
  for (const m of loadManifests(root).filter((x) => !only.length || only.includes(x.name))) {
    const model = await LoadedModel.open(m.model)
    const inputs = await loadInputs(m)
    for (const c of m.cases) {
      const runner = await CamRunner.create(model, { method: c.method as CamMethod, layer: c.layer_scope || 'auto' })
      const out = await runner.run(inputs, c.targets ?? inputs.map(() => -1))
      const refs = await loadMaps(m, c.map)
      const refRaw = await loadMaps(m, c.raw)
      const cmp = out.map((r, i) => compareImage(refs[i], refRaw[i], r.map, r.raw))
      const rs = cmp.map((x) => x.r)
      const raws = cmp.map((x) => x.rawRatio)
      const sameLayer = runner.layer === c.layer_tensor
      const sameTargets = out.every((r, i) => r.target.index === c.targets_used[i])
      const pass = sameLayer && sameTargets && cmp.every((x) => x.pass)
      total++
      if (!pass) failed++
      worstR = Math.min(worstR, minOf(rs))
      worstRaw = Math.max(worstRaw, maxOf(raws))
      console.log(
        `${m.name.padEnd(16)} ${c.id.padEnd(18)} layer=${runner.layer} r=[${rs.map((r) => r.toFixed(6)).join(', ')}]` +
          ` raw=[${raws.map((r) => r.toFixed(3)).join(', ')}] ${pass ? 'ok' : 'FAIL'}` +
          `${sameLayer ? '' : ` LAYER MISMATCH (reference ${c.layer_tensor})`}${sameTargets ? '' : ' TARGET MISMATCH'}`
      )
      await runner.release()
    }
  }
  if (!total) {
    console.error(`No reference cases${only.length ? ` for ${only.join(', ')}` : ''} in ${root}.`)
    return 2
  }
  const b = REFERENCE_BOUNDS
  console.log(
    `${total - failed}/${total} cases pass; worst Pearson r ${worstR.toFixed(6)} (threshold ${b.minPearson}), worst raw error ` +
      `${worstRaw.toFixed(3)} x the bound ${b.rawRel} * max|reference raw| + ${b.rawAbs} (must stay below 1): ${failed ? 'FAIL' : 'PASS'}`
  )
  return failed ? 1 : 0
}

main().then((code) => process.exit(code))
