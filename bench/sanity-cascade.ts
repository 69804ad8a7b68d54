/**
 * The audit's randomisation check (Adebayo et al. 2018, cascading, src/main/engine/audit/sanity.ts) for
 * any methods (perturbation attributions included, which the audit does not take), outside the audit:
 *   npx tsx bench/sanity-cascade.ts [--model M.onnx] [--images DIR] [--per-class 1] [--classes 8]
 *       [--methods gradcam,saliency,guidedbackprop,deconvnet,guidedgradcam] [--steps 8] [--seed 0]
 *
 * Defaults: the trained demo model (resources/demo/fashion_cnn.onnx) and the first image of each of
 * its first 8 class folders. Maps are for each image's top-1 class on the trained model; Grad-CAM and
 * Guided Grad-CAM at the layer `auto` resolves to. Prints one JSON line per method: the mean Spearman
 * rank correlation and SSIM to the trained model's maps after each cascade step (top layer first),
 * and the audit's two verdicts: classLayerVerdict (the first step, the class layer alone re-drawn) and
 * sanityVerdict (the last step, every layer re-drawn).
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { camMaker, classLayerVerdict, runSanity, sanityVerdict } from '../src/main/engine/audit/sanity'
import { CamRunner } from '../src/main/engine/cam/runner'
import type { CamMethod } from '../src/main/engine/cam/methods'
import { loadImageTensor } from '../src/main/engine/data/image-tensor'
import { modelPreprocess } from '../src/main/engine/model/inputs'
import { LoadedModel } from '../src/main/engine/model/loaded-model'

const ROOT = join(__dirname, '..')
const { values: v } = parseArgs({
  options: {
    model: { type: 'string', default: join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx') },
    images: { type: 'string', default: join(ROOT, 'resources', 'demo', 'images') },
    'per-class': { type: 'string', default: '1' },
    classes: { type: 'string', default: '8' },
    methods: { type: 'string', default: 'gradcam,saliency,guidedbackprop,deconvnet,guidedgradcam' },
    steps: { type: 'string', default: '8' },
    seed: { type: 'string', default: '0' }
  }
})

async function main(): Promise<void> {
  const model = await LoadedModel.open(v.model!)
  const pre = modelPreprocess(model, {})
  const folders = readdirSync(v.images!, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort().slice(0, Number(v.classes))
  const files = folders.flatMap((c) => readdirSync(join(v.images!, c)).sort().slice(0, Number(v['per-class'])).map((f) => join(v.images!, c, f)))
  const inputs = await Promise.all(files.map(async (f) => (await loadImageTensor(f, pre)).data))
  const probe = await CamRunner.create(model, { method: 'gradcam', layer: 'auto' })
  const layer = probe.layer
  const targets: number[] = []
  for (const x of inputs) targets.push((await probe.run([x], [-1]))[0].target.index)
  await probe.release()
  const methods = v.methods!.split(',') as CamMethod[]
  const out = await runSanity({ model, inputs, targets, makers: methods.map((m) => camMaker(m, layer)), steps: Number(v.steps), seed: Number(v.seed) })
  const mean = (a: number[]) => a.reduce((p, x) => p + x, 0) / a.length
  const round = (x: number) => Math.round(x * 1000) / 1000
  for (const m of methods) {
    const spearman = out.spearman[m].map((s) => round(mean(s)))
    const ssim = out.ssim[m].map((s) => round(mean(s)))
    const allLayers = sanityVerdict(spearman[spearman.length - 1], ssim[ssim.length - 1])
    const classLayer = out.steps[0].layersRandomised === 1 ? classLayerVerdict(spearman[0]).flagged : null
    console.log(JSON.stringify({ method: m, images: inputs.length, layer, layersRandomised: out.steps.map((s) => s.layersRandomised), spearman, ssim, flaggedClassLayer: classLayer, flaggedAllLayers: allLayers.flagged }))
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
