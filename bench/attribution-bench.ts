/**
 * Integrated Gradients and SmoothGrad speed, ours against PyTorch eager, in one run (issue #23):
 *   /usr/bin/python3 scripts/fixtures/make_large_models.py resnet50 mobilenet_v2   # once
 *   npx tsx bench/attribution-bench.ts [--iters 5] [--threads N] [--models resnet50,mobilenet_v2] [--steps 32] [--samples 25]
 *
 * Per image (batch 1) at 224 x 224: our `bench cam --method integratedgradients --steps 32` (Gauss-
 * Legendre, black baseline) and `--method smoothgrad --samples 25`, the whole attribution (path or noisy
 * copies batched in one backward graph, the map included), against bench/torch_attribution.py at the same
 * thread count: the minimal batched PyTorch form (all points in one autograd.grad to the input) and a
 * Captum-style per-step loop (one forward/backward per point, weight gradients included).
 *
 * Gate, per case: ours_ms_per_image < torch_minimal_ms_per_image (ours not slower than the minimal form).
 * The loop is reported as information: what users often run today.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cpus, homedir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const root = join(__dirname, '..')
const { values } = parseArgs({
  options: {
    iters: { type: 'string', default: '5' },
    threads: { type: 'string' },
    models: { type: 'string', default: 'resnet50,mobilenet_v2' },
    steps: { type: 'string', default: '32' },
    samples: { type: 'string', default: '25' }
  }
})
const threads = values.threads ?? String(cpus().length)
const cache = process.env.METASCOPE_CACHE ?? join(homedir(), '.cache', 'metascope', 'large')
const python = process.env.METASCOPE_PYTHON ?? '/usr/bin/python3'
const cases = [
  { method: 'integratedgradients', n: values.steps!, flags: ['--steps', values.steps!, '--integration', 'gausslegendre'] },
  { method: 'smoothgrad', n: values.samples!, flags: ['--samples', values.samples!] }
]

let allPass = true
for (const name of values.models!.split(',').filter(Boolean)) {
  const model = join(cache, 'models', `${name}.onnx`)
  if (!existsSync(model)) {
    console.error(`missing ${model}: run ${python} scripts/fixtures/make_large_models.py ${name}`)
    process.exit(2)
  }
  for (const c of cases) {
    const ours = JSON.parse(
      execFileSync(join(root, 'node_modules', '.bin', 'tsx'), ['src/main/cli.ts', 'bench', 'cam', '--model', model, '--method', c.method, ...c.flags, '--batch', '1', '--iters', values.iters!, '--threads', threads], {
        cwd: root,
        encoding: 'utf8'
      })
    )
    const torch = JSON.parse(execFileSync(python, [join(root, 'bench', 'torch_attribution.py'), name, c.method, c.n, values.iters!, threads], { encoding: 'utf8' }))
    const minimal = torch.torch_minimal_ms_per_image as number
    const loop = torch.torch_loop_ms_per_image as number
    const pass = ours.cam_ms_per_image < minimal
    allPass &&= pass
    console.log(JSON.stringify({ case: `${name}:${c.method}:${c.n}`, ...ours, ...torch, vs_torch_minimal: +(minimal / ours.cam_ms_per_image).toFixed(2), vs_torch_loop: +(loop / ours.cam_ms_per_image).toFixed(2), pass }))
    console.log(
      `${name} ${c.method} (${c.n}): ours ${ours.cam_ms_per_image} ms/image; minimal batched PyTorch ${minimal} (${(minimal / ours.cam_ms_per_image).toFixed(2)}x, gated); ` +
        `Captum-style loop ${loop} (${(loop / ours.cam_ms_per_image).toFixed(2)}x, information): ${pass ? 'PASS' : 'FAIL'}`
    )
  }
}
console.log(allPass ? 'all targets met (ours not slower than the minimal batched PyTorch form)' : 'some targets missed')
process.exitCode = allPass ? 0 : 1
