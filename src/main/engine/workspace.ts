import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { WorkspaceFile, type CamItem, type Workspace, type WorkspaceDraft } from '../../shared/api'
import type { WorkspacePhase } from '../../shared/events'
import { ApiError } from '../../shared/errors'
import type { CamResultStore } from './cam/result-store'
import { checkOutputPathText, prepareOutputDir, subfolder } from './files/output-dir'
import { serialized, writeFileAtomic } from './files/safe-write'
import { fileError } from './errors'
import { regularFile } from './files/read'

export const WORKSPACE_FILE = 'workspace.json'

/** Hears a save's or an open's phase as it goes (done/total: bytes of maps copied, or results read back). */
export type WorkspaceProgress = (phase: WorkspacePhase, done?: number, total?: number) => void

/**
 * Saves a workspace folder: the exact maps of every result into results/ first, then workspace.json
 * by write-and-rename, so an interrupted save leaves the previous workspace.json intact.
 */
export async function saveWorkspace(dirArg: string, ws: WorkspaceDraft, store: CamResultStore, onProgress?: WorkspaceProgress): Promise<{ dir: string; file: string }> {
  // Saves to one folder run one after the other, in the order asked: the maps copied and the JSON
  // written belong together. The folder is checked (and made) in turn, inside the line.
  checkOutputPathText(dirArg, 'dir')
  return serialized(`workspace:${resolve(dirArg)}`, async () => saveInto(await prepareOutputDir(dirArg, 'dir'), ws, store, onProgress))
}

async function saveInto(dir: string, ws: WorkspaceDraft, store: CamResultStore, onProgress?: WorkspaceProgress): Promise<{ dir: string; file: string }> {
  const results = await subfolder(dir, 'results', 'dir')
  // The request names results by id; what the file keeps comes from the engine's own records.
  const runs = ws.runs.map((r) => ({
    ...r,
    items: r.items.map((i) => {
      if (!i.ok) return i
      return store.stored(i.resultId, i.imageId)
    })
  }))
  const ids = runs.flatMap((r) => r.items.flatMap((i) => (i.ok ? [i.resultId] : [])))
  await store.saveMaps(ids, results, onProgress && ((done, total) => onProgress('maps', done, total)))
  const file = join(dir, WORKSPACE_FILE)
  onProgress?.('writing')
  await writeFileAtomic(file, JSON.stringify({ ...ws, runs }) + '\n')
  return { dir, file }
}

/** Reads and validates workspace.json and re-registers its saved maps so exports keep working. */
export async function openWorkspace(dirArg: string, store: CamResultStore, onProgress?: WorkspaceProgress): Promise<Workspace> {
  onProgress?.('reading')
  const dir = resolve(dirArg)
  const file = join(dir, WORKSPACE_FILE)
  await regularFile(file, 'workspace')
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw fileError(err, file, 'workspace')
  })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new ApiError('bad-file', `${file} is not valid JSON; the workspace cannot be opened.`, file)
  }
  const parsed = WorkspaceFile.safeParse(json)
  if (!parsed.success) {
    const where = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
    throw new ApiError('bad-file', `${file} is not a Metascope workspace (${where}).`, file)
  }
  const results = join(dir, 'results')
  const ws = parsed.data
  // Each result's maps are read back (and its PNG drawn again): seconds for a few thousand.
  const total = ws.runs.reduce((n, r) => n + r.items.filter((i) => i.ok).length, 0)
  let done = 0
  const reopened = () => onProgress?.('reopening', ++done, total)
  onProgress?.('reopening', 0, total)
  if (ws.version === 1) {
    // Version 1 kept every map inline; its results/ folder holds the exact maps for exports.
    for (const run of ws.runs) {
      for (const item of run.items) {
        if (!item.ok) continue
        await store.restore(item, results, run.id)
        reopened()
      }
    }
    return ws
  }
  const runs: Workspace['runs'] = []
  for (const run of ws.runs) {
    const items: CamItem[] = []
    for (const item of run.items) {
      if (!item.ok) items.push(item)
      else {
        // A result whose maps are gone stays listed, as an error, so nothing else is lost.
        items.push(
          (await store.reopen(item, results, run.id)) ?? {
            ok: false,
            file: item.file,
            imageId: item.imageId,
            error: { code: 'not-found', message: `The maps of ${item.file} (result ${item.resultId}) are missing from ${results}.`, file: item.file }
          }
        )
        reopened()
      }
    }
    runs.push({ ...run, items })
  }
  return { ...ws, runs }
}
