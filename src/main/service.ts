import { resolve } from 'node:path'
import type { AppInfo, ArgsOf, MethodName, ModelSummary, ResultOf } from '../shared/api'
import { ApiError } from '../shared/errors'
import { validateCall } from '../shared/validate'
import { backendInfo, libraryVersions } from './engine/backends'
import { ImageLibrary } from './engine/data/images'
import { JobManager, type Emit } from './engine/jobs/jobs'
import { readOnnxModel } from './engine/onnx/model-file'
import { readLabelsFile, summarize } from './engine/onnx/summary'
import { APP_VERSION } from './version'

type Handlers = { [M in MethodName]: (args: ArgsOf<M>) => Promise<ResultOf<M>> }

/**
 * The API implementation: one function per call, over the engine. It runs wherever the engine runs
 * (utility process, child process, or in-process for the CLI) and never touches a transport.
 */
export class Service {
  readonly images = new ImageLibrary()
  readonly jobs: JobManager
  private readonly models = new Map<string, ModelSummary>()

  constructor(emit: Emit) {
    this.jobs = new JobManager(emit)
  }

  private readonly handlers: Handlers = {
    'app.info': async () => this.info(),
    'models.open': async ({ path, labelsPath }) => {
      const abs = resolve(path)
      const { model, bytes } = await readOnnxModel(abs)
      const labels = labelsPath ? await readLabelsFile(resolve(labelsPath)) : null
      const summary = summarize(model, abs, bytes.byteLength, labels)
      this.models.set(summary.id, summary)
      return summary
    },
    'images.add': async ({ paths }) => this.images.add(paths),
    'images.list': async () => this.images.list(),
    'images.remove': async ({ ids }) => ({ removed: this.images.remove(ids) }),
    'jobs.selftest': async ({ steps, stepMs }) =>
      this.jobs.start('selftest', async (ctx) => {
        for (let i = 1; i <= steps; i++) {
          ctx.throwIfCancelled()
          await new Promise((r) => setTimeout(r, stepMs))
          ctx.item({ step: i })
          ctx.progress(i, steps, 'counting')
        }
        return { steps }
      }),
    'jobs.cancel': async ({ jobId }) => ({ cancelled: this.jobs.cancel(jobId) })
  }

  async info(): Promise<AppInfo> {
    return {
      name: 'metascope',
      version: APP_VERSION,
      node: process.versions.node,
      electron: process.versions.electron ?? null,
      platform: process.platform,
      arch: process.arch,
      libraries: libraryVersions(),
      backends: await backendInfo()
    }
  }

  /** Validates then runs one call; throws ApiError on any failure. */
  async call(method: unknown, args: unknown): Promise<unknown> {
    const call = validateCall(method, args)
    const handler = this.handlers[call.method] as (a: unknown) => Promise<unknown>
    return handler(call.args)
  }

  /** For the file-serving routes of both transports: only images the user added resolve. */
  imagePath(id: string): string {
    const entry = this.images.get(id)
    if (!entry) throw new ApiError('not-found', `No image with id ${id} was added.`)
    return entry.path
  }
}
