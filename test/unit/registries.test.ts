import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { AUDIT_USAGE } from '../../src/main/cli/audit-command'
import { CAM_USAGE } from '../../src/main/cli/cam-command'
import { CAM_METHOD_MODULES } from '../../src/main/engine/cam/methods'
import { methods } from '../../src/shared/api'
import { AuditArgs } from '../../src/shared/audit'
import { AUDIT_COLUMNS, AUDIT_METRIC_CATALOGUE } from '../../src/shared/registry/audit-metrics'
import { AUDIT_METRIC_MODULES } from '../../src/main/engine/audit/metrics'
import { ATTRIBUTION_PARAMS, CAM_METHOD_CATALOGUE } from '../../src/shared/registry/cam-methods'
import { FEWSHOT_METHOD_CATALOGUE } from '../../src/shared/registry/fewshot-methods'
import { MODEL_FORMAT_CATALOGUE } from '../../src/shared/registry/model-formats'
import { FORMAT_MODULES, FORMATS } from '../../src/main/engine/formats'
import { ModelSummary } from '../../src/shared/api'
import { UPLOAD_EXTENSIONS } from '../../src/shared/client'
import en from '../../src/renderer/src/i18n/en'
import ja from '../../src/renderer/src/i18n/ja'
import { AdaptArgs, MetaTrainArgs } from '../../src/shared/fewshot'
import { METHODS } from '../../src/main/engine/fewshot/methods'
import { FEWSHOT_USAGE } from '../../src/main/cli/fewshot-command'
import { ADAPT_USAGE } from '../../src/main/cli/fewshot-adapt-command'
import { ROOT, tempDir } from '../helpers'
import { jobHarness } from '../job-harness'

/**
 * One list per capability (issue #20): every place that lists CAM methods derives it from the
 * registry, so each equals it. The UI's pickers are checked in the browser (test/e2e/registries.e2e.ts).
 */
const ids = CAM_METHOD_CATALOGUE.map((m) => m.id)
/** The audit takes the CAMs and the gradient pixel attributions (issue #23 item 6); not the perturbation ones yet. */
const auditIds = CAM_METHOD_CATALOGUE.filter((m) => m.group === 'cam' || m.group === 'gradient').map((m) => m.id)
const KIND_OF_NEEDS = { gradients: 'gradient', activations: 'forward', 'input-gradients': 'pixel', 'layer-and-input-gradients': 'pixel', 'forward-scores': 'perturbation' } as const

/** The options of a zod enum reached through object shapes and wrappers (default, optional, array). */
function enumAt(schema: z.ZodType, path: string[]): string[] {
  let s = schema as unknown as { def: Record<string, unknown>; shape?: Record<string, z.ZodType>; options?: string[] }
  const unwrap = () => {
    for (;;) {
      const d = s.def as { type: string; innerType?: unknown; element?: unknown; in?: unknown; schema?: unknown }
      const next = d.innerType ?? d.element ?? d.in ?? (d.type === 'pipe' ? d.in : undefined)
      if (!next) return
      s = next as typeof s
    }
  }
  for (const key of path) {
    unwrap()
    s = s.shape![key] as unknown as typeof s
  }
  unwrap()
  return [...(s.options ?? [])]
}

describe('the CAM method registry', () => {
  it('the engine has one module per catalogue entry, of the kind the catalogue says', () => {
    expect(Object.keys(CAM_METHOD_MODULES)).toEqual(ids)
    for (const m of CAM_METHOD_CATALOGUE) expect(CAM_METHOD_MODULES[m.id].kind).toBe(KIND_OF_NEEDS[m.needs])
    // Pixel attributions are the `gradient` group, and only they.
    for (const m of CAM_METHOD_CATALOGUE) expect(m.group === 'gradient').toBe(m.needs === 'input-gradients' || m.needs === 'layer-and-input-gradients')
    // Perturbation attributions (forward passes only) are the `perturbation` group, and only they.
    for (const m of CAM_METHOD_CATALOGUE) expect(m.group === 'perturbation').toBe(m.needs === 'forward-scores')
  })

  it('the API enums are the registry', () => {
    expect(enumAt(methods['cam.run'].args, ['method'])).toEqual(ids)
    expect(enumAt(AuditArgs, ['settings', 'methods'])).toEqual(auditIds)
  })

  it('the CLI help lists the registry', () => {
    expect(/--method ([\w+|-]+)\]/.exec(CAM_USAGE)![1].split('|')).toEqual(ids)
    // Every attribution parameter has its flag in the help.
    for (const p of Object.values(ATTRIBUTION_PARAMS)) expect(CAM_USAGE).toContain(`[${p.flag} ${p.value}]`)
    expect(/--methods ([\w+,-]+)\]/.exec(AUDIT_USAGE)![1].split(',')).toEqual(auditIds)
  })

  it('the audit report names every method by its registry name', async () => {
    const images = tempDir()
    const demo = join(ROOT, 'resources', 'demo', 'images')
    for (const c of ['Bag', 'Coat']) {
      mkdirSync(join(images, c))
      const f = readdirSync(join(demo, c)).sort()[0]
      copyFileSync(join(demo, c, f), join(images, c, f))
    }
    const { service, until } = jobHarness()
    const out = tempDir()
    const settings = { methods: auditIds, metrics: ['deletion', 'insertion', 'confidence'], steps: 2, worst: 1 }
    const { jobId } = (await service.call('audit.run', { modelPath: join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx'), imagesDir: images, out, settings })) as { jobId: string }
    const end = await until((e) => 'jobId' in e && e.jobId === jobId && (e.type === 'job.done' || e.type === 'job.failed'))
    expect(end.type).toBe('job.done')
    const html = readFileSync(join(out, 'report.html'), 'utf8')
    const table = [...html.matchAll(/<table>[\s\S]*?<\/table>/g)].map((m) => m[0]).find((t) => t.includes('<th>method</th>'))!
    const names = [...table.matchAll(/<tr><td[^>]*>\d+<\/td><td[^>]*>([^<]+)<\/td>/g)].map((m) => m[1])
    expect([...names].sort()).toEqual(CAM_METHOD_CATALOGUE.filter((m) => (auditIds as string[]).includes(m.id)).map((m) => m.name).sort())
    const csv = readFileSync(join(out, 'methods.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[1].replace(/"/g, ''))
    expect([...csv].sort()).toEqual([...auditIds].sort())
  }, 120_000)
})

describe('the audit metric registry', () => {
  const metricIds = AUDIT_METRIC_CATALOGUE.map((m) => m.id)

  it('the engine has one module per catalogue entry, each under its own id', () => {
    expect(Object.keys(AUDIT_METRIC_MODULES)).toEqual(metricIds)
    for (const [id, m] of Object.entries(AUDIT_METRIC_MODULES)) expect(m.id).toBe(id)
  })

  it('the API enum and the CLI help are the registry', () => {
    expect(enumAt(AuditArgs, ['settings', 'metrics'])).toEqual(metricIds)
    expect(/--metrics ([\w,]+)\]/.exec(AUDIT_USAGE)![1].split(',')).toEqual(metricIds)
  })

  it("the report has a part per chosen metric, the ranking's columns are the registry's, in the table and in methods.csv", async () => {
    const images = tempDir()
    const demo = join(ROOT, 'resources', 'demo', 'images')
    for (const c of ['Bag', 'Coat']) {
      mkdirSync(join(images, c))
      for (const f of readdirSync(join(demo, c)).sort().slice(0, 2)) copyFileSync(join(demo, c, f), join(images, c, f))
    }
    const { service, until } = jobHarness()
    const run = async (metrics: string[]) => {
      const out = tempDir()
      const settings = { methods: ['gradcam'], metrics, steps: 2, worst: 1, sanityImages: 1, sanitySteps: 1 }
      const { jobId } = (await service.call('audit.run', { modelPath: join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx'), imagesDir: images, out, settings })) as { jobId: string }
      const end = await until((e) => 'jobId' in e && e.jobId === jobId && (e.type === 'job.done' || e.type === 'job.failed'))
      expect(end.type).toBe('job.done')
      const html = readFileSync(join(out, 'report.html'), 'utf8')
      return { out, html, parts: [...new Set([...html.matchAll(/data-metric="([^"]+)"/g)].map((m) => m[1]))] }
    }
    const all = await run(metricIds)
    expect(all.parts).toEqual(metricIds)
    const table = [...all.html.matchAll(/<table>[\s\S]*?<\/table>/g)].map((m) => m[0]).find((t) => t.includes('<th>method</th>'))!
    const headers = [...table.matchAll(/<th>([^<]*)<\/th>/g)].map((m) => m[1]).slice(3)
    expect(headers.map((h) => h.replace(/ [↑↓]$/, ''))).toEqual(AUDIT_COLUMNS.map((c) => c.report))
    const csvHeader = readFileSync(join(all.out, 'methods.csv'), 'utf8').split('\n')[0].split(',')
    expect(csvHeader).toEqual(['rank', 'method', 'images', ...AUDIT_COLUMNS.flatMap((c) => (c.kind === 'verdict' ? [c.csv, c.whyCsv] : [c.csv]))])
    // Only the chosen metrics have a part, whatever order they were given in.
    const some = await run(['where', 'deletion'])
    expect(some.parts).toEqual(['deletion', 'where'])
  }, 180_000)
})

describe('the few-shot method registry', () => {
  const all = FEWSHOT_METHOD_CATALOGUE.map((m) => m.id)
  const adapts = FEWSHOT_METHOD_CATALOGUE.filter((m) => m.adaptsImported).map((m) => m.id)

  it('the engine has one module per catalogue entry', () => {
    expect(Object.keys(METHODS)).toEqual(all)
    for (const id of all) expect(METHODS[id].id).toBe(id)
  })

  it('the API enums are the registry (meta-training: every method; adapting an imported model: the head-only ones)', () => {
    expect(enumAt(MetaTrainArgs, ['config', 'method'])).toEqual(all)
    expect(enumAt(AdaptArgs, ['method'])).toEqual(adapts)
  })

  it("the CLI help lists the registry, with each method's summary", () => {
    expect(/--method ([\w|]+)\]/.exec(FEWSHOT_USAGE)![1].split('|')).toEqual(all)
    expect(/--method ([\w|]+)\]/.exec(ADAPT_USAGE)![1].split('|')).toEqual(adapts)
    for (const id of all) expect(FEWSHOT_USAGE).toContain(`${id.padEnd(10)} ${METHODS[id].summary}`)
  })
})

describe('the model format registry', () => {
  const ids = MODEL_FORMAT_CATALOGUE.map((f) => f.id)

  it('the engine has one module per format, and ONNX is tried last', () => {
    expect(Object.keys(FORMAT_MODULES).sort()).toEqual([...ids].sort())
    for (const id of ids) expect(FORMAT_MODULES[id].name).toBe(id)
    expect(FORMATS.at(-1)!.name).toBe('onnx')
    expect(FORMATS).toHaveLength(ids.length)
  })

  // The browser's model picker has no accept filter: tfjs shards often have no extension (issue #21).
  it('the API enum and the upload rule are the registry', () => {
    expect(enumAt(ModelSummary, ['format'])).toEqual(ids)
    const files = MODEL_FORMAT_CATALOGUE.flatMap((f) => [...f.extensions, ...f.companions])
    for (const e of files) expect(UPLOAD_EXTENSIONS).toContain(e)
  })

  it('every format has its label in both languages (model.formatName.<id>)', () => {
    for (const messages of [en, ja]) expect(Object.keys((messages as unknown as { model: { formatName: Record<string, string> } }).model.formatName).sort()).toEqual([...ids].sort())
  })
})
