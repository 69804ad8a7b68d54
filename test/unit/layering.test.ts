import { ESLint } from 'eslint'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers'

/** The layer rules are lint rules; these cases prove they bite (a rule that never fires is no rule). */
const eslint = new ESLint({ cwd: ROOT })

async function messages(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) })
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`)
}

describe('layering lint rules', () => {
  it('the engine never imports electron', async () => {
    const m = await messages("import { app } from 'electron'\nexport const x = app\n", 'src/main/engine/cam/probe-lint.ts')
    expect(m.join('\n')).toMatch(/no-restricted-imports.*never import electron/)
  })

  it('renderer stores and components do not reach HTTP or Electron directly', async () => {
    const store = await messages("export const load = () => fetch('/api/app.info')\n", 'src/renderer/src/stores/probe-lint.ts')
    expect(store.join('\n')).toMatch(/no-restricted-globals.*Use the api module/)
    const comp = await messages("import { ipcRenderer } from 'electron'\nexport const x = ipcRenderer\n", 'src/renderer/src/stores/probe-lint2.ts')
    expect(comp.join('\n')).toMatch(/no-restricted-imports/)
  })

  it('the shared contract imports no Node module', async () => {
    const m = await messages("import { readFileSync } from 'node:fs'\nexport const x = readFileSync\n", 'src/shared/probe-lint.ts')
    expect(m.join('\n')).toMatch(/no-restricted-imports.*API contract/)
  })

  it('the real sources pass these rules', async () => {
    const results = await eslint.lintFiles(['src/renderer/src/components', 'src/renderer/src/stores', 'src/main/engine', 'src/shared'])
    expect(results.flatMap((r) => r.messages.filter((m) => m.ruleId?.startsWith('no-restricted')))).toEqual([])
  })
})
