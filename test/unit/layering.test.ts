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

  it.each([
    ['src/main/engine/onnx/probe-lint.ts', "import { CamRunner } from '../cam/runner'"],
    ['src/main/engine/onnx/probe-lint.ts', "import { probeAll } from '../exec/probe'"],
    ['src/main/engine/exec/probe-lint.ts', "import { openModelFile } from '../formats'"],
    ['src/main/engine/model/probe-lint.ts', "import { CamRunner } from '../cam/runner'"],
    ['src/main/engine/data/probe-lint.ts', "import { LoadedModel } from '../model/loaded-model'"],
    ['src/main/engine/audit/probe-lint.ts', "import { adaptModel } from '../fewshot/adapt/adapt'"],
    ['src/main/engine/fewshot/adapt/probe-lint.ts', "import { CamRunner } from '../../cam/runner'"],
    ['src/main/engine/cam/probe-lint.ts', "import { runAudit } from '../audit/run-audit'"]
  ])('inside the engine, an upward import fails lint (%s: %s)', async (file, line) => {
    const m = await messages(`${line}\nexport const x = 1\n`, file)
    expect(m.join('\n')).toMatch(/no-restricted-imports.*below these in the engine's layers/)
  })

  it('downward imports inside the engine pass', async () => {
    expect(await messages("import { CamRunner } from '../cam/runner'\nexport const x = CamRunner\n", 'src/main/engine/audit/probe-lint.ts')).toEqual([])
    expect(await messages("import { GraphIndex } from '../onnx/ir'\nexport const x = GraphIndex\n", 'src/main/engine/exec/probe-lint.ts')).toEqual([])
  })

  it('the shared contract imports no Node module', async () => {
    const m = await messages("import { readFileSync } from 'node:fs'\nexport const x = readFileSync\n", 'src/shared/probe-lint.ts')
    expect(m.join('\n')).toMatch(/no-restricted-imports.*API contract/)
  })

  it('the real sources pass these rules', async () => {
    const results = await eslint.lintFiles(['src/renderer/src/components', 'src/renderer/src/stores', 'src/main/engine', 'src/main/cli', 'src/shared'])
    expect(results.flatMap((r) => r.messages.filter((m) => m.ruleId?.startsWith('no-restricted')))).toEqual([])
  })
})
