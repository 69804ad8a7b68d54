import { mkdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Workspace } from '../../shared/api'
import { ApiError } from '../../shared/errors'
import type { CamResultStore } from './cam/result-store'
import { serialized, writeFileAtomic } from './cam/writer'
import { fileError } from './errors'

export const WORKSPACE_FILE = 'workspace.json'

/**
 * Saves a workspace folder: the exact maps of every result into results/ first, then workspace.json
 * by write-and-rename, so an interrupted save leaves the previous workspace.json intact.
 */
export async function saveWorkspace(dirArg: string, ws: Workspace, store: CamResultStore): Promise<{ dir: string; file: string }> {
  const dir = resolve(dirArg)
  // Saves to one folder run one after the other: the maps copied and the JSON written belong together.
  return serialized(`workspace:${dir}`, () => saveInto(dir, ws, store))
}

async function saveInto(dir: string, ws: Workspace, store: CamResultStore): Promise<{ dir: string; file: string }> {
  await mkdir(join(dir, 'results'), { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    throw new ApiError('bad-file', `Cannot create the workspace folder ${dir}: ${err.message}`, dir)
  })
  const ids = ws.runs.flatMap((r) => r.items.flatMap((i) => (i.ok ? [i.resultId] : [])))
  await store.saveMaps(ids, join(dir, 'results'))
  const file = join(dir, WORKSPACE_FILE)
  await writeFileAtomic(file, JSON.stringify(ws) + '\n')
  return { dir, file }
}

/** Reads and validates workspace.json and re-registers its saved maps so exports keep working. */
export async function openWorkspace(dirArg: string, store: CamResultStore): Promise<Workspace> {
  const dir = resolve(dirArg)
  const file = join(dir, WORKSPACE_FILE)
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw fileError(err, file, 'workspace')
  })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new ApiError('bad-file', `${file} is not valid JSON; the workspace cannot be opened.`, file)
  }
  const parsed = Workspace.safeParse(json)
  if (!parsed.success) {
    const where = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
    throw new ApiError('bad-file', `${file} is not a Metascope workspace (${where}).`, file)
  }
  for (const run of parsed.data.runs) {
    for (const item of run.items) if (item.ok) await store.restore(item, join(dir, 'results'))
  }
  return parsed.data
}
