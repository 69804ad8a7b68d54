import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { planAudit } from '../../src/main/engine/audit/plan'
import { ROOT, fixture, rejection, tempDir } from '../helpers'

const DEMO_MODEL = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
const demoImage = (cls: string, n: string) => join(ROOT, 'resources', 'demo', 'images', cls, `${n}.png`)

/** A folder of demo images laid out as `layout` says: relative path -> source image. */
function folder(layout: Record<string, string>): string {
  const dir = tempDir('metascope-audit-in-')
  for (const [rel, src] of Object.entries(layout)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true })
    copyFileSync(src, join(dir, rel))
  }
  return dir
}

describe('audit bad inputs are clear errors', () => {
  it('an unlabelled folder when calibration needs labels names the folder and the loose images', async () => {
    const dir = folder({ 'a.png': demoImage('Bag', '18'), 'b.png': demoImage('Coat', '6') })
    const err = await rejection(planAudit({ modelPath: DEMO_MODEL, imagesDir: dir, settings: { metrics: ['calibration'] } }))
    expect(err.code).toBe('bad-file')
    expect(err.file).toBe(dir)
    expect(err.message).toMatch(/is not labelled: 2 image\(s\) sit directly in it \(a\.png, b\.png\).*sub-folder named after the class/)
    // Without calibration the same folder is audited unlabelled.
    const plan = await planAudit({ modelPath: DEMO_MODEL, imagesDir: dir, settings: { metrics: ['deletion'] } })
    expect(plan.dataset.identity.labelled).toBe(false)
    expect(plan.inputs.map((i) => i.label)).toEqual([null, null])
  })

  it('class folders that are not the model classes are named, with the classes it has', async () => {
    const dir = folder({ 'Bag/1.png': demoImage('Bag', '18'), 'cats/2.png': demoImage('Coat', '6'), 'dogs/3.png': demoImage('Coat', '10') })
    const err = await rejection(planAudit({ modelPath: DEMO_MODEL, imagesDir: dir, settings: { metrics: ['calibration'] } }))
    expect(err.code).toBe('invalid-arguments')
    expect(err.message).toMatch(/do not match the classes of fashion_cnn\.onnx: cats, dogs are not among its 10 labels \(T-shirt\/top, Trouser/)
  })

  it('folders map to classes through labels, label folder names, or class numbers', async () => {
    const plan = await planAudit({ modelPath: DEMO_MODEL, imagesDir: folder({ 'T-shirt_top/1.png': demoImage('Bag', '18'), 'Bag/2.png': demoImage('Bag', '30') }) })
    expect(plan.inputs.map((i) => [i.path, i.label])).toEqual([
      ['Bag/2.png', 8],
      ['T-shirt_top/1.png', 0]
    ])
    const noLabels = await planAudit({ modelPath: fixture('models', 'mini_resnet.onnx'), imagesDir: folder({ '3/a.png': demoImage('Bag', '18'), '7/b.png': demoImage('Bag', '30') }) })
    expect(noLabels.inputs.map((i) => i.label)).toEqual([3, 7])
    const err = await rejection(planAudit({ modelPath: fixture('models', 'mini_resnet.onnx'), imagesDir: folder({ 'cat/a.png': demoImage('Bag', '18') }) }))
    expect(err.message).toMatch(/has no class labels.*give a labels file/)
    expect(err.details).toMatchObject({ field: 'labelsPath', constraint: 'required' })
  })

  it('a shard spec like 5/4 is refused before anything runs', async () => {
    const err = await rejection(planAudit({ modelPath: DEMO_MODEL, imagesDir: join(ROOT, 'resources', 'demo', 'images'), shard: '5/4' }))
    expect(err.code).toBe('invalid-arguments')
    expect(err.message).toMatch(/Shard 5\/4: the shard number must be between 1 and 4/)
    expect(err.details).toMatchObject({ field: 'shard', constraint: 'range' })
  })

  it('a missing images folder, an empty one, and bad settings are named', async () => {
    expect((await rejection(planAudit({ modelPath: DEMO_MODEL, imagesDir: '/nonexistent/images' }))).message).toMatch(/\/nonexistent\/images does not exist/)
    expect((await rejection(planAudit({ modelPath: DEMO_MODEL, imagesDir: tempDir() }))).message).toMatch(/holds no images/)
    expect((await rejection(planAudit({ modelPath: DEMO_MODEL, imagesDir: tempDir(), settings: { steps: 1 } }))).message).toMatch(/settings\.steps/)
  })
})
