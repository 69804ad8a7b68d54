import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CAM_METHOD_CATALOGUE } from '../../src/shared/registry/cam-methods'
import { startHarness, type Harness } from './harness'

/**
 * The UI's pickers list what the registries list (issue #20): read from the real page, compared with
 * the registry the API, CLI and report derive from (test/unit/registries.test.ts).
 */
let h: Harness

beforeAll(async () => {
  h = await startHarness()
  await h.page.goto(h.url)
  await h.page.getByTestId('open-demo').click()
  await h.page.getByTestId('model-summary').waitFor()
})

afterAll(async () => {
  await h?.close()
})

describe('UI pickers follow the registries', () => {
  it('CAM methods: the heatmap method picker and the audit checkboxes', async () => {
    const options = await h.page.locator('[data-testid="cam-method"] option').evaluateAll((os) => os.map((o) => [(o as HTMLOptionElement).value, o.textContent?.trim()]))
    expect(options).toEqual(CAM_METHOD_CATALOGUE.map((m) => [m.id, m.name]))
    await h.page.getByTestId('view-audit').click()
    const boxes = await h.page.locator('[data-testid="audit-methods"] label').evaluateAll((ls) => ls.map((l) => [(l.querySelector('input') as HTMLInputElement).value, l.textContent?.trim()]))
    expect(boxes).toEqual(CAM_METHOD_CATALOGUE.map((m) => [m.id, m.name]))
  })
})
