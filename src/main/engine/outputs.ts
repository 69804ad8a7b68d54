import { readFile } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { ApiError } from '../../shared/errors'
import { prepareOutputDir } from './files/output-dir'
import { copyFileAtomic, writeFileAtomic } from './files/safe-write'

/** What a finished job wrote: its files, and the one the user asked for (the report, the model). */
export interface KeptOutput {
  kind: 'audit' | 'fewshot.adapt'
  files: string[]
  main: string
}

/** Finished jobs remembered for saving (only paths are kept; the oldest are forgotten first). */
const REMEMBERED = 1000

/**
 * Outputs are kept, not recomputed: an audit's report or an adapted model is saved (or put in a
 * workspace) by copying what its job already wrote, never by running the job again. Copies go
 * through the same output-folder check and new-file writes as every other write.
 */
export class OutputStore {
  private readonly kept = new Map<string, KeptOutput>()

  keep(id: string, out: KeptOutput): void {
    this.kept.set(id, out)
    if (this.kept.size > REMEMBERED) this.kept.delete(this.kept.keys().next().value!)
  }

  get(id: string): KeptOutput {
    const o = this.kept.get(id)
    if (!o) throw new ApiError('not-found', `No finished audit or adapted model with id ${id} in this session: run it again to save it.`, undefined, { field: 'jobId', constraint: 'unknown', value: id })
    return o
  }

  /** Copies job `id`'s files into `dir`; returns the folder, the files written and the main one. */
  async save(id: string, dirArg: string): Promise<{ dir: string; files: string[]; main: string }> {
    const out = this.get(id)
    const dir = await prepareOutputDir(dirArg, 'dir')
    const files: string[] = []
    for (const from of out.files) {
      const to = join(dir, basename(from))
      files.push(to)
      if (resolve(from) === to) continue
      if (out.kind === 'fewshot.adapt' && basename(from) === 'predictions.json') {
        // The predictions name the adapted model's path: the copy names the copy.
        const report = JSON.parse(await readFile(from, 'utf8')) as Record<string, unknown>
        await writeFileAtomic(to, JSON.stringify({ ...report, adaptedModel: join(dir, basename(out.main)) }, null, 2) + '\n')
      } else await copyFileAtomic(from, to)
    }
    return { dir, files, main: join(dir, basename(out.main)) }
  }
}
