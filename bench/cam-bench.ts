/**
 * Grad-CAM speed, ours against PyTorch eager, in one run (issue #3 acceptance 3):
 *   /usr/bin/python3 scripts/fixtures/make_large_models.py resnet50 mobilenet_v2   # once
 *   npx tsx bench/cam-bench.ts [--batch 8] [--iters 10] [--threads N]
 * For each model it runs our `bench cam` (onnxruntime forward, and the whole Grad-CAM: one graph run
 * plus map post-processing) and bench/torch_gradcam.py at the same thread count (each baseline in
 * its own process), and
 * prints one JSON line per model plus a summary with the acceptance ratios.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cpus, homedir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const root = join(__dirname, '..')
const { values } = parseArgs({ options: { batch: { type: 'string', default: '8' }, iters: { type: 'string', default: '10' }, threads: { type: 'string' }, models: { type: 'string', default: 'resnet50,mobilenet_v2' } } })
const threads = values.threads ?? String(cpus().length)
const cache = process.env.METASCOPE_CACHE ?? join(homedir(), '.cache', 'metascope', 'large')
const python = process.env.METASCOPE_PYTHON ?? '/usr/bin/python3'

const targets: Record<string, { minThroughputVsTorch: number }> = { resnet50: { minThroughputVsTorch: 1.6 }, mobilenet_v2: { minThroughputVsTorch: 8 } }
let allPass = true
for (const name of values.models!.split(',')) {
  const model = join(cache, 'models', `${name}.onnx`)
  if (!existsSync(model)) {
    console.error(`missing ${model}: run ${python} scripts/fixtures/make_large_models.py ${name}`)
    process.exit(2)
  }
  const ours = JSON.parse(
    execFileSync(join(root, 'node_modules', '.bin', 'tsx'), ['src/main/cli.ts', 'bench', 'cam', '--model', model, '--batch', values.batch!, '--iters', values.iters!, '--threads', threads], { cwd: root, encoding: 'utf8' })
  )
  // Each baseline in its own process: interleaving them in one process slowed torch erratically.
  const torch: Record<string, unknown> = {}
  for (const mode of ['forward', 'gradcam', 'minimal']) {
    const line = JSON.parse(execFileSync(python, [join(root, 'bench', 'torch_gradcam.py'), name, values.batch!, values.iters!, threads, mode], { encoding: 'utf8' }))
    for (const [k, v] of Object.entries(line)) if (v !== null) torch[k] = v
  }
  const camOverForward = ours.cam_ms_per_image / ours.forward_ms_per_image
  const throughputVsTorch = (torch.torch_gradcam_ms_per_image as number) / ours.cam_ms_per_image
  const throughputVsMinimal = (torch.torch_minimal_gradcam_ms_per_image as number) / ours.cam_ms_per_image
  const pass = camOverForward <= 1.15 && throughputVsTorch >= (targets[name]?.minThroughputVsTorch ?? 1)
  allPass &&= pass
  console.log(JSON.stringify({ ...ours, ...torch, cam_over_forward: +camOverForward.toFixed(3), throughput_vs_torch: +throughputVsTorch.toFixed(2), throughput_vs_torch_minimal: +throughputVsMinimal.toFixed(2), pass }))
}
console.log(allPass ? 'all targets met' : 'some targets missed')
