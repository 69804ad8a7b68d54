import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readAuditFile } from '../../src/main/engine/audit/merge'
import { planAudit } from '../../src/main/engine/audit/plan'
import { runAudit } from '../../src/main/engine/audit/run-audit'
import { camMaker, classLayerVerdict, runSanity } from '../../src/main/engine/audit/sanity'
import { readNpy } from '../../src/main/engine/data/npy'
import { resolveLayer } from '../../src/main/engine/model/layers'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { writeAudit } from '../../src/main/engine/audit/report-data'
import { ROOT, tempDir } from '../helpers'

/**
 * The audit's randomisation check on a real trained model (the demo's Fashion-MNIST CNN, its 40 demo
 * images), with a pixel attribution among the methods (issue #23 item 6). Guided Backprop's maps hardly
 * move when only the class layer is re-drawn (mean Spearman to the trained model's maps ~0.9 over the
 * 40 images, bench/sanity-cascade.ts), Grad-CAM's move almost entirely (~0.1): the class-layer verdict
 * flags the first and passes the second, by a margin far wider than the spread of images picked.
 */
describe('audit sanity check: the class-layer verdict', () => {
  it('flags Guided Backprop and passes Grad-CAM on the trained demo model, in the summary, methods.csv and the report', async () => {
    // 10 images spread over the 40 sorted ones: one per class folder. Two steps: the class layer alone, then every layer.
    const settings = { methods: ['guidedbackprop', 'gradcam'], metrics: ['sanity'], sanityImages: 10, sanitySteps: 2, seed: 0 }
    const plan = await planAudit({ modelPath: join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx'), imagesDir: join(ROOT, 'resources', 'demo', 'images'), settings })
    const file = await runAudit(plan)
    const san = file.summary.sanity!
    expect(san.images).toHaveLength(10)
    expect(new Set(san.images.map((p) => p.split('/')[0])).size).toBe(10)
    expect(san.steps.map((s) => s.layersRandomised)).toEqual([1, 4])
    const gbp = san.methods.guidedbackprop
    const gc = san.methods.gradcam
    // The class-layer number is step 1's mean Spearman.
    expect(gbp.classLayerSpearman).toBe(gbp.spearman[0])
    expect(gbp.classLayerSpearman!).toBeGreaterThanOrEqual(0.8)
    expect(gc.classLayerSpearman!).toBeLessThan(0.5)
    expect(gbp.flaggedBy).toContain('class-layer')
    expect(gbp.flagged).toBe(true)
    expect(gc.flaggedBy).not.toContain('class-layer')
    // Grad-CAM passes the every-layer verdict as before on this model, so it passes the check.
    expect(gc.flagged).toBe(false)
    expect(gbp.reason).toMatch(/only the class layer randomised the maps keep Spearman 0\.\d\d to the originals, at least 0\.8/)

    // The method rows (UI table, report, CSV) carry the verdict, which verdicts flagged it and the number.
    const row = (m: string) => file.summary.methods.find((r) => r.method === m)!
    expect(row('guidedbackprop')).toMatchObject({ sanityFlagged: true, sanityClassLayer: gbp.classLayerSpearman })
    expect(row('guidedbackprop').sanityFlaggedBy).toContain('class-layer')
    expect(row('gradcam')).toMatchObject({ sanityFlagged: false, sanityFlaggedBy: [], sanityClassLayer: gc.classLayerSpearman })

    const out = tempDir()
    await writeAudit(file, out)
    const csv = readFileSync(join(out, 'methods.csv'), 'utf8').trim().split('\n').map((l) => l.split(','))
    const col = (name: string) => csv[0].indexOf(name)
    const line = (m: string) => csv.find((l) => l[1] === m)!
    expect(line('guidedbackprop')[col('sanity_flagged')]).toBe('1')
    expect(line('guidedbackprop')[col('sanity_flagged_by')]).toMatch(/class-layer/)
    expect(Number(line('guidedbackprop')[col('sanity_class_layer_spearman')])).toBeCloseTo(gbp.classLayerSpearman!, 6)
    expect(line('gradcam')[col('sanity_flagged')]).toBe('0')
    expect(line('gradcam')[col('sanity_flagged_by')]).toBe('')
    const html = readFileSync(join(out, 'report.html'), 'utf8')
    expect(html).toMatch(/<p data-sanity-method="guidedbackprop">Guided Backprop: <span class="flag">flagged \(class layer/)
    expect(html).toMatch(/<p data-sanity-method="gradcam">Grad-CAM: <span class="ok">passes/)

    // An audit saved before the class-layer verdict (no such fields) still opens: they read as null / none.
    const old = JSON.parse(readFileSync(join(out, 'audit.json'), 'utf8'))
    for (const r of old.summary.methods) {
      delete r.sanityClassLayer
      delete r.sanityFlaggedBy
    }
    for (const m of Object.values(old.summary.sanity.methods) as Record<string, unknown>[]) {
      delete m.flaggedBy
      delete m.classLayerSpearman
    }
    writeFileSync(join(out, 'audit.json'), JSON.stringify(old))
    const reopened = await readAuditFile(out)
    expect(reopened.summary.methods.map((r) => [r.sanityFlagged, r.sanityFlaggedBy, r.sanityClassLayer])).toEqual([[true, null, null], [false, null, null]])
    expect(reopened.summary.sanity!.methods.guidedbackprop).toMatchObject({ flaggedBy: [], classLayerSpearman: null })
  }, 300_000)
})

describe('the class-layer verdict on a trained ResNet (mini_resnet_trained, BatchNorm and skip connections)', () => {
  it("flags Guided Backprop's maps and passes Grad-CAM's, with only the fc layer re-drawn", async () => {
    const dir = join(ROOT, 'test', 'fixtures', 'attribution', 'mini_resnet_trained')
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { inputs: string[]; targets: number[] }
    const model = await LoadedModel.open(join(ROOT, 'test', 'fixtures', 'models', 'mini_resnet_trained.onnx'))
    const inputs = await Promise.all(manifest.inputs.map(async (f) => (await readNpy(join(dir, f))).data as Float32Array))
    const layer = resolveLayer(model.index, model.shapes, model.types, 'auto', model.path)
    const out = await runSanity({ model, inputs, targets: manifest.targets, makers: [camMaker('guidedbackprop', layer), camMaker('gradcam', layer)], steps: 2, seed: 0 })
    // The first step re-draws the top layer alone: the classifier.
    expect(out.steps[0].layersRandomised).toBe(1)
    expect(model.index.producer.get(out.steps[0].layer)?.opType).toMatch(/Gemm|MatMul/)
    const first = (m: string) => out.spearman[m][0].reduce((a, b) => a + b, 0) / inputs.length
    expect(classLayerVerdict(first('guidedbackprop')).flagged).toBe(true)
    expect(classLayerVerdict(first('gradcam')).flagged).toBe(false)
  }, 120_000)
})
