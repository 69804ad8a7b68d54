import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AUDIT_METRIC_CATALOGUE } from '../../src/shared/registry/audit-metrics'
import { CAM_METHOD_CATALOGUE } from '../../src/shared/registry/cam-methods'
import { FEWSHOT_METHOD_CATALOGUE } from '../../src/shared/registry/fewshot-methods'
import { startWithDemo, type Harness } from './harness'

/**
 * The UI's pickers list what the registries list (issue #20): read from the real page, compared with
 * the registry the API, CLI and report derive from (test/unit/registries.test.ts).
 */
let h: Harness

beforeAll(async () => {
  h = await startWithDemo()
})

afterAll(async () => {
  await h?.close()
})

describe('UI pickers follow the registries', () => {
  it('CAM methods: the heatmap method picker and the audit checkboxes', async () => {
    const options = await h.page.locator('[data-testid="cam-method"] option').evaluateAll((os) => os.map((o) => [(o as HTMLOptionElement).value, o.textContent?.trim()]))
    expect(options).toEqual(CAM_METHOD_CATALOGUE.map((m) => [m.id, m.name]))
    // Grouped as the registry groups them (CAM / gradients / perturbation).
    const groups = await h.page.locator('[data-testid="cam-method"] optgroup').evaluateAll((gs) => gs.map((g) => (g as HTMLOptGroupElement).querySelectorAll('option').length))
    expect(groups).toEqual(['cam', 'gradient', 'perturbation'].map((g) => CAM_METHOD_CATALOGUE.filter((m) => m.group === g).length))
    await h.page.getByTestId('view-audit').click()
    const boxes = await h.page.locator('[data-testid="audit-methods"] label').evaluateAll((ls) => ls.map((l) => [(l.querySelector('input') as HTMLInputElement).value, l.textContent?.trim()]))
    // The audit takes the CAMs and the gradient pixel attributions (src/shared/audit.ts AUDIT_METHOD_GROUPS).
    expect(boxes).toEqual(CAM_METHOD_CATALOGUE.filter((m) => m.group === 'cam' || m.group === 'gradient').map((m) => [m.id, m.name]))
  })
  it('audit metrics: the audit checkboxes, each labelled in words (audit.metric.<id>)', async () => {
    await h.page.getByTestId('view-audit').click()
    const boxes = await h.page.locator('[data-testid="audit-metrics"] label').evaluateAll((ls) => ls.map((l) => [(l.querySelector('input') as HTMLInputElement).value, l.textContent?.trim() ?? '']))
    expect(boxes.map((b) => b[0])).toEqual(AUDIT_METRIC_CATALOGUE.map((m) => m.id))
    for (const [, label] of boxes) expect(label).not.toMatch(/^audit\.metric\./)
  })
  it('few-shot methods: the adapt picker (head-only ones) and the meta-training picker (all), labelled by id', async () => {
    await h.page.getByTestId('view-fewshot').click()
    const values = (sel: string) => h.page.locator(`[data-testid="${sel}"] option`).evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))
    expect(await values('fs-method')).toEqual(FEWSHOT_METHOD_CATALOGUE.filter((m) => m.adaptsImported).map((m) => m.id))
    await h.page.getByTestId('fs-tab-meta').click()
    expect(await values('fm-method')).toEqual(FEWSHOT_METHOD_CATALOGUE.map((m) => m.id))
    // Every label is a real string of the UI (not an i18n key left over).
    const labels = await h.page.locator('[data-testid="fm-method"] option').evaluateAll((os) => os.map((o) => o.textContent ?? ''))
    for (const l of labels) expect(l).not.toMatch(/^fewshot\.method\./)
  })
})
