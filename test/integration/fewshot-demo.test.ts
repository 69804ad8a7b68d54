import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { demoInfo } from '../../src/main/engine/demo'
import { adaptModel } from '../../src/main/engine/fewshot/adapt/adapt'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { ROOT } from '../helpers'

/**
 * The few-shot demo (resources/demo/fewshot, made by scripts/demo/make_demo.py): the demo CNN trained
 * on Fashion-MNIST classes 0-4 only, and support/query images of classes 5-9 from the test set.
 */
const TEN_CLASS = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
const sortedPngs = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.png')).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))

describe('the few-shot demo', () => {
  it('demo.info names it; its model knows classes 0-4 and states the preprocessing the 10-class demo states', async () => {
    const { fewshot } = await demoInfo()
    expect(fewshot.available).toBe(true)
    const [model, ten] = await Promise.all([LoadedModel.open(fewshot.modelPath), LoadedModel.open(TEN_CLASS)])
    expect(model.labels).toEqual(ten.labels!.slice(0, 5))
    expect(JSON.parse(model.summary.metadata['metascope.label_folders'])).toEqual(JSON.parse(ten.summary.metadata['metascope.label_folders']).slice(0, 5))
    for (const key of ['metascope.normalization', 'metascope.resize']) expect(model.summary.metadata[key]).toBe(ten.summary.metadata[key])
    expect(Number(model.summary.metadata['metascope.test_accuracy'])).toBeGreaterThan(0.5)
    // The classes it is taught are exactly the ones it has no label for, 5 support + 5 other query images each.
    const folders = readdirSync(fewshot.supportDir).sort()
    expect(readdirSync(fewshot.queryDir).sort()).toEqual(folders)
    expect(folders).toEqual(JSON.parse(ten.summary.metadata['metascope.label_folders']).slice(5).sort())
    for (const c of folders) {
      const support = sortedPngs(join(fewshot.supportDir, c))
      const query = sortedPngs(join(fewshot.queryDir, c))
      expect([support.length, query.length]).toEqual([5, 5])
      expect(support.filter((f) => query.includes(f))).toEqual([])
    }
  })

  it('teaching it the 5 classes it never saw: "before" is not scored, "after" is measured and above chance', async () => {
    const { fewshot } = await demoInfo()
    const r = await adaptModel({ modelPath: fewshot.modelPath, supportDir: fewshot.supportDir, queryDir: fewshot.queryDir })
    expect(r.classes).toEqual(['Ankle_boot', 'Bag', 'Sandal', 'Shirt', 'Sneaker'])
    expect(r.predictions).toHaveLength(25)
    expect(r.accuracyBefore).toBeNull()
    expect(r.predictions.every((p) => p.correctBefore === null)).toBe(true)
    // The original model can only answer with its own 5 classes.
    expect(new Set(r.predictions.map((p) => p.before.label)).size).toBeLessThanOrEqual(5)
    expect(r.predictions.every((p) => ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat'].includes(p.before.label))).toBe(true)
    expect(r.accuracyAfter).toBe(r.predictions.filter((p) => p.correctAfter).length / 25)
    expect(r.accuracyAfter).toBeGreaterThan(0.2)
    console.log(`few-shot demo, Proto-MAML 5-way 5-shot: query accuracy after ${r.accuracyAfter} (chance 0.2); support loss ${r.supportLoss[0].toFixed(3)} -> ${r.supportLoss.at(-1)!.toFixed(3)}`)
  })

  it('a mix of a class the model knows and new ones: the known class is scored "before", the new ones are not', async () => {
    const { fewshot, imagesDir } = await demoInfo()
    const files = (dir: string, c: string) => sortedPngs(join(dir, c)).map((f) => join(dir, c, f))
    const coat = files(imagesDir, 'Coat')
    const r = await adaptModel({
      modelPath: fewshot.modelPath,
      sets: {
        classes: [
          { name: 'Coat', support: coat.slice(0, 2), query: coat.slice(2, 4) },
          ...['Bag', 'Sandal'].map((name) => ({ name, support: files(fewshot.supportDir, name).slice(0, 2), query: files(fewshot.queryDir, name).slice(0, 2) }))
        ]
      }
    })
    // Not every class is one of the model's, so there is no overall "before"...
    expect(r.accuracyBefore).toBeNull()
    // ...but each Coat image is right or wrong before, as the model's own top-1 says.
    const coats = r.predictions.filter((p) => p.trueClass === 'Coat')
    expect(coats).toHaveLength(2)
    for (const p of coats) expect(p.correctBefore).toBe(p.before.label === 'Coat')
    expect(r.predictions.filter((p) => p.trueClass !== 'Coat').every((p) => p.correctBefore === null)).toBe(true)
  })
})
