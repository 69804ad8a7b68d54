/**
 * Memory of browser mode under a flood of small jobs (issue #19 item 3):
 *   npx tsx bench/job-flood.ts [--jobs 4500] [--in-flight 16] [--every 500]
 * Starts `npm run serve` as its own process, opens the demo model, adds one demo image, then keeps
 * `--in-flight` cam.run calls going (each a one-image Grad-CAM job) until `--jobs` have finished,
 * refusals ('busy') retried after the server's Retry-After. Every `--every` jobs it prints one JSON
 * line: jobs done, refusals, server and engine RSS (MB, from /proc). Flat RSS is the point.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { WebSocket } from 'ws'
import { ROOT } from '../test/paths'
import { startServeProcess } from '../test/serve-process'

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '4500' }, 'in-flight': { type: 'string', default: '16' }, every: { type: 'string', default: '500' }, 'no-wait': { type: 'boolean', default: false } } })
/** --no-wait: each lane starts its next job as soon as the call returns (the probe's flood), not when the job ends. */
const noWait = values['no-wait']
const total = Number(values.jobs)
const inFlight = Number(values['in-flight'])
const every = Number(values.every)

function rssMb(pid: number | null | undefined): number {
  if (!pid) return 0
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : 0
  } catch {
    return 0
  }
}

async function main(): Promise<void> {
  const serve = await startServeProcess()
  try {
    const model = await serve.call('models.open', { path: join(ROOT, 'resources/demo/fashion_cnn.onnx') })
    const modelId = (model.body.value as { id: string }).id
    const added = await serve.call('images.add', { paths: [join(ROOT, 'resources/demo/images/Bag')] })
    const imageId = (added.body.value as { added: { id: string }[] }).added[0].id
    // A listening UI: events are delivered (and dropped here), as in real use.
    const ws = new WebSocket(`${serve.base.replace('http', 'ws')}/api/events`, { headers: { cookie: serve.cookie, origin: serve.base } })
    const ended = new Map<string, () => void>()
    ws.on('message', (d) => {
      const e = JSON.parse(String(d)) as { type: string; jobId?: string }
      if ((e.type === 'job.done' || e.type === 'job.failed' || e.type === 'job.cancelled') && e.jobId) ended.get(e.jobId)?.()
    })
    await new Promise((r) => ws.once('open', r))
    let started = 0
    let done = 0
    let refused = 0
    const t0 = Date.now()
    const report = () =>
      console.log(JSON.stringify({ jobs: done, refused, serverMb: rssMb(serve.proc.pid), engineMb: rssMb(serve.enginePid()), seconds: Math.round((Date.now() - t0) / 100) / 10 }))
    report()
    const lane = async () => {
      while (started < total) {
        started++
        const r = await serve.call('cam.run', { modelId, imageIds: [imageId], batch: 1 })
        if (r.status === 429) {
          refused++
          started--
          await new Promise((res) => setTimeout(res, 1000 * Number(r.headers.get('retry-after') ?? 1)))
          continue
        }
        const { jobId } = r.body.value as { jobId: string }
        if (!noWait) {
          await new Promise<void>((res) => ended.set(jobId, res))
          ended.delete(jobId)
        }
        done++
        if (done % every === 0) report()
      }
    }
    await Promise.all(Array.from({ length: inFlight }, lane))
    ws.close()
  } finally {
    await serve.stop()
  }
}

void main()
