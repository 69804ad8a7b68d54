import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { AuditFile, auditClassNames } from '../../../shared/audit'
import { ApiError } from '../../../shared/errors'
import { comparePaths } from './shard'
import { summarize } from './summary'
import { mergeWorst } from './worst'

/** Reads a shard's (or a run's) audit.json, naming the folder in every error. */
export async function readAuditFile(dir: string): Promise<AuditFile> {
  const file = join(resolve(dir), 'audit.json')
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new ApiError(e.code === 'ENOENT' ? 'not-found' : 'bad-file', e.code === 'ENOENT' ? `${dir} holds no audit.json: is it an audit output folder?` : `${file} is not readable JSON: ${e.message}`, file)
  }
  const parsed = AuditFile.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ApiError('bad-file', `${file} is not a Metascope audit file (${issue.path.join('.')}: ${issue.message}).`, file)
  }
  return parsed.data
}

/** Stable JSON (sorted keys) for comparing settings. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`
  return JSON.stringify(v)
}

/**
 * Merges shard outputs into one audit: the shards must come from the same model file (sha256), the
 * same settings and the same sorted image list, be K/N parts of one N, and be complete (every K once).
 * The merged records, sorted by path, give the same summary an unsharded run gives.
 */
export function mergeAuditFiles(parts: { dir: string; file: AuditFile }[]): AuditFile {
  if (parts.length < 1) throw new ApiError('invalid-arguments', 'audit merge needs at least one shard folder.')
  const [first] = parts
  const differs = (what: string, a: { dir: string }, b: { dir: string }, detail: string) =>
    new ApiError('invalid-arguments', `Cannot merge ${b.dir} with ${a.dir}: ${what} differ (${detail}). Shards must come from one audit: the same model, settings and images.`, b.dir)
  for (const p of parts) {
    if (!p.file.shard) throw new ApiError('invalid-arguments', `${p.dir} is not a shard (it was run without a shard spec); it is already a complete audit.`, p.dir)
    if (p.file.model.sha256 !== first.file.model.sha256) throw differs('the models', first, p, `${first.file.model.file} ${first.file.model.sha256.slice(0, 12)} vs ${p.file.model.file} ${p.file.model.sha256.slice(0, 12)}`)
    if (canonical(p.file.settings) !== canonical(first.file.settings)) {
      const keys = Object.keys({ ...first.file.settings, ...p.file.settings }) as (keyof AuditFile['settings'])[]
      const changed = keys.filter((k) => canonical(first.file.settings[k]) !== canonical(p.file.settings[k]))
      throw differs('the settings', first, p, changed.map((k) => `${k}: ${canonical(first.file.settings[k])} vs ${canonical(p.file.settings[k])}`).join('; '))
    }
    if (p.file.model.layer !== first.file.model.layer || canonical(p.file.model.preprocessing) !== canonical(first.file.model.preprocessing)) throw differs('the CAM layer or preprocessing', first, p, `${first.file.model.layer} vs ${p.file.model.layer}`)
    if (p.file.dataset.listSha256 !== first.file.dataset.listSha256) throw differs('the image lists', first, p, `${first.file.dataset.count} vs ${p.file.dataset.count} images, list hashes ${first.file.dataset.listSha256.slice(0, 12)} vs ${p.file.dataset.listSha256.slice(0, 12)}`)
    if (p.file.shard.count !== first.file.shard!.count) throw differs('the shard counts', first, p, `${first.file.shard!.index}/${first.file.shard!.count} vs ${p.file.shard.index}/${p.file.shard.count}`)
  }
  const n = first.file.shard!.count
  const seen = new Map<number, string>()
  for (const p of parts) {
    const k = p.file.shard!.index
    if (seen.has(k)) throw new ApiError('invalid-arguments', `Shard ${k}/${n} is given twice: ${seen.get(k)} and ${p.dir}.`, p.dir)
    seen.set(k, p.dir)
  }
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((k) => !seen.has(k))
  if (missing.length) throw new ApiError('invalid-arguments', `Shard(s) ${missing.map((k) => `${k}/${n}`).join(', ')} are missing; merge needs all ${n} shards.`)

  const images = parts.flatMap((p) => p.file.images).sort((a, b) => comparePaths(a.path, b.path))
  if (images.length !== first.file.dataset.count) {
    throw new ApiError('bad-file', `The shards hold ${images.length} image records but the set has ${first.file.dataset.count} images; a shard folder is incomplete (was its run interrupted?).`)
  }
  const withSanity = parts.map((p) => p.file.sanity).filter((s): s is NonNullable<AuditFile['sanity']> => s !== null)
  const sanity = withSanity.length ? { steps: withSanity[0].steps, images: withSanity.flatMap((s) => s.images).sort((a, b) => comparePaths(a.path, b.path)) } : null
  const worst = mergeWorst(
    parts.map((p) => p.file.worst),
    first.file.settings.worst
  )
  const settings = first.file.settings
  return {
    ...first.file,
    dataset: first.file.dataset,
    shard: null,
    images,
    sanity,
    worst,
    summary: summarize({ images, settings, labels: auditClassNames(first.file), labelled: first.file.dataset.labelled, sanity, worst })
  }
}
