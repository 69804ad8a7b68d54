/**
 * Few-shot parity: ours and the PyTorch reference (bench/torch_fewshot.py), the same episodes and initial
 * weights, compared iteration by iteration over the first few meta-iterations. The accuracy bench runs
 * 1,000 Adam steps, over which float rounding alone (thread count, summation order) sends two runs of
 * the same code to different weights; this check separates that from a real difference in the method:
 * the same method gives the same loss curve at the start, a different one does not. The control is
 * PyTorch against itself at 1 and 2 threads: where the whole network takes inner steps (MAML, FOMAML,
 * Meta-SGD) the curves of the same code part within a few iterations, and that sets the noise floor.
 *
 *   npx tsx bench/fewshot-parity.ts [--methods protonet,fomaml,...] [--shots 1,5] [--iterations 3] [--rotations 1]
 *
 * Prints a table (largest |loss difference| over the iterations, and the losses at the last one) and
 * appends one JSON line per method to bench/results/fewshot-parity.jsonl.
 */
import { spawnSync } from 'node:child_process'
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { FEWSHOT_METHOD_NAMES } from '../src/shared/fewshot'
import { maxOf } from '../src/shared/stats'

const root = join(__dirname, '..')
const { values: v } = parseArgs({
  options: {
    methods: { type: 'string', default: FEWSHOT_METHOD_NAMES.join(',') },
    shots: { type: 'string', default: '1,5' },
    iterations: { type: 'string', default: '3' },
    rotations: { type: 'string', default: '1' }
  }
})

/** The loss of every iteration from a run's progress lines ("iteration i/N loss X ..."), in order. */
function lossCurve(stderr: string): number[] {
  return [...stderr.matchAll(/^iteration (\d+)\/\d+ loss (-?[\d.]+)/gm)].map((m) => Number(m[2]))
}

function run(cmd: string, args: string[], what: string, threads = '1'): { curve: number[]; accuracy: number } {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, OMP_NUM_THREADS: threads } })
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}:\n${r.stderr.slice(-2000)}`)
  const json = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop()
  if (!json) throw new Error(`${what} printed no JSON line`)
  return { curve: lossCurve(r.stderr), accuracy: (JSON.parse(json) as { accuracy: number }).accuracy }
}

function main(): void {
  const out = join(root, 'bench', 'results')
  mkdirSync(out, { recursive: true })
  const dir = mkdtempSync(join(tmpdir(), 'metascope-parity-'))
  const lines = [
    '| shots | method | iterations | max abs loss diff, ours vs PyTorch | control: PyTorch 1 vs 2 threads | ours loss (last) | PyTorch loss (last) | ours acc (5 episodes) | PyTorch acc |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'
  ]
  try {
    for (const shots of v.shots.split(',')) {
      for (const method of v.methods.split(',')) {
        const [episodes, init] = [join(dir, `${method}-${shots}.episodes.json`), join(dir, `${method}-${shots}.init.json`)]
        const ours = run('npx', ['tsx', 'src/main/cli.ts', 'fewshot', 'bench', '--method', method, '--shots', shots, '--iterations', v.iterations, '--episodes', '5', '--train-rotations', v.rotations, '--threads', '1', '--log-every', '1', '--episodes-out', episodes, '--init-out', init], `ours ${method} ${shots}-shot`)
        const torchAt = (threads: string) =>
          run('/usr/bin/python3', ['bench/torch_fewshot.py', '--episodes', episodes, '--init', init, '--method', method, '--threads', threads, '--log-every', '1'], `pytorch ${method} ${shots}-shot`, threads)
        const [torch, torch2] = [torchAt('1'), torchAt('2')]
        const n = Number(v.iterations)
        for (const c of [ours, torch, torch2]) if (c.curve.length !== n) throw new Error(`${method}: expected ${n} loss values per run, got ${c.curve.length}`)
        const gap = (a: number[], b: number[]) => maxOf(a.map((l, i) => Math.abs(l - b[i])))
        const [diff, control] = [gap(ours.curve, torch.curve), gap(torch.curve, torch2.curve)]
        const row = { method, shots: Number(shots), rotations: Number(v.rotations), iterations: n, max_abs_loss_diff: diff, control_torch_threads: control, ours: ours.curve, pytorch: torch.curve, pytorch_2threads: torch2.curve, ours_accuracy: ours.accuracy, pytorch_accuracy: torch.accuracy }
        appendFileSync(join(out, 'fewshot-parity.jsonl'), JSON.stringify(row) + '\n')
        lines.push(`| ${shots} | ${method} | ${n} | ${diff.toFixed(4)} | ${control.toFixed(4)} | ${ours.curve[n - 1].toFixed(4)} | ${torch.curve[n - 1].toFixed(4)} | ${(ours.accuracy * 100).toFixed(1)} | ${(torch.accuracy * 100).toFixed(1)} |`)
        process.stderr.write(lines[lines.length - 1] + '\n')
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  process.stdout.write(lines.join('\n') + '\n')
}

main()
