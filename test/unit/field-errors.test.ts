import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cliErrorText, flagOf } from '../../src/main/cli/flags'
import { validateCall } from '../../src/shared/validate'
import { errorText } from '../../src/renderer/src/lib/error-text'
import en from '../../src/renderer/src/i18n/en'
import ja from '../../src/renderer/src/i18n/ja'
import { rejection, ROOT } from '../helpers'

/**
 * Errors name fields; each front end phrases them (issue #20): the engine never speaks in CLI flags,
 * the CLI names the flag, the UI uses its own words by field and rule.
 */
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]))
}

describe('errors name fields, fronts phrase them', () => {
  it('no engine source speaks in CLI flags', () => {
    const hits = walk(join(ROOT, 'src/main/engine'))
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => readFileSync(f, 'utf8').split('\n').map((line, i) => [`${relative(ROOT, f)}:${i + 1}`, line] as const))
      .filter(([, line]) => /--[a-z]/.test(line))
    expect(hits).toEqual([])
  })

  it('a schema error names the field, the rule and the value', async () => {
    const err = await rejection(Promise.resolve().then(() => validateCall('fewshot.adapt', { modelPath: 'm.onnx', supportDir: 's', queryDir: 'q', innerRate: -1 })))
    expect(err).toMatchObject({ code: 'invalid-arguments', details: { field: 'innerRate', constraint: 'min', value: -1, min: 0, inclusive: false } })
  })

  it('the CLI says the flag', () => {
    expect(flagOf('innerRate')).toBe('--inner-rate')
    expect(flagOf('labelsPath')).toBe('--labels')
    expect(cliErrorText({ code: 'invalid-arguments', message: 'A shard is K/N.', details: { field: 'shard', constraint: 'format' } })).toBe('--shard: A shard is K/N.')
    expect(cliErrorText({ code: 'bad-file', message: 'x is missing.' })).toBe('x is missing.')
  })

  it('the UI phrases a field error in its words, and keeps the engine message otherwise', () => {
    const messages = en as unknown as Record<string, Record<string, Record<string, string>>>
    const lookup = (key: string) => key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], messages) as string | undefined
    const t = (key: string, p: Record<string, unknown> = {}) => lookup(key)!.replace(/\{(\w+)\}/g, (_, k: string) => String(p[k]))
    const has = (key: string) => typeof lookup(key) === 'string'
    expect(errorText({ code: 'invalid-arguments', message: 'raw', details: { field: 'innerRate', constraint: 'min', value: -1 } }, t, has)).toMatch(/inner learning rate must be a number above 0 and at most 10 \(it is -1\)/)
    expect(errorText({ code: 'invalid-arguments', message: 'raw', details: { field: 'shard', constraint: 'range', value: '5/4', count: 4 } }, t, has)).toBe('The shard "5/4" is out of range: K must be from 1 to 4.')
    expect(errorText({ code: 'bad-file', message: 'x.png is not readable' }, t, has)).toBe('x.png is not readable')
    expect(errorText({ code: 'invalid-arguments', message: 'raw', details: { field: 'nothingKnown', constraint: 'min' } }, t, has)).toBe('raw')
  })

  it('missing weight shards: named in words that fit how the files were given (uploaded files are given again, files on disk copied beside the model)', () => {
    for (const [lang, messages] of [['en', en], ['ja', ja]] as const) {
      const lookup = (key: string) => key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], messages) as string | undefined
      const t = (key: string, p: Record<string, unknown> = {}) => lookup(key)!.replace(/\{(\w+)\}/g, (_, k: string) => String(p[k]))
      const has = (key: string) => typeof lookup(key) === 'string'
      // The engine's field names the manifest entry: its first name picks the words.
      const e = { code: 'not-found' as const, message: 'raw', details: { field: 'weightsManifest[0].paths[1]', constraint: 'missing', model: 'model.json', missing: ['group1-shard2of3', 'group1-shard3of3'] } }
      const upload = errorText(e, t, has, 'upload')
      const disk = errorText(e, t, has, 'disk')
      for (const text of [upload, disk]) expect(text).toContain('group1-shard2of3, group1-shard3of3')
      expect(upload).not.toBe(disk)
      if (lang === 'en') {
        expect(upload).toMatch(/Choose them together with model\.json under “Upload model files…”, or drop them all here/)
        expect(upload).not.toMatch(/Copy/)
        expect(disk).toMatch(/Copy them next to model\.json/)
      }
    }
  })
})
