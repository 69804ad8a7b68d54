import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createI18n } from 'vue-i18n'
import { describe, expect, it } from 'vitest'
import { CamRunner } from '../../src/main/engine/cam/runner'
import { checkAugmentable } from '../../src/main/engine/fewshot/adapt/deep/augment'
import { lastBlocks } from '../../src/main/engine/fewshot/adapt/deep/blocks'
import { resolveFeatures } from '../../src/main/engine/fewshot/adapt/features'
import { findHead } from '../../src/main/engine/fewshot/adapt/head'
import { probeImage } from '../../src/main/engine/data/images'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { errorText } from '../../src/renderer/src/lib/error-text'
import en from '../../src/renderer/src/i18n/en'
import ja from '../../src/renderer/src/i18n/ja'
import { toErrorShape, type ApiErrorShape } from '../../src/shared/errors'
import { fixture, rejection, ROOT, tempDir } from '../helpers'

/**
 * The errors a UI user meets most (a model that does not open, an image that is not one, a layer or a
 * target that does not exist, the engine restarting or busy, memory) reach the page in its language
 * (issue #21 item 5): the real engine's errors, phrased by the renderer's errorText through real
 * vue-i18n with the app's own messages, in English and Japanese, keeping the file's and op's names.
 */
/** The app's messages in real vue-i18n, typed only as far as errorText needs (its full types are too deep for tsc). */
const global = createI18n({ legacy: false, locale: 'en', fallbackLocale: 'en', messages: { en, ja } as never, missingWarn: false, fallbackWarn: false }).global as unknown as {
  locale: { value: string }
  t: (key: string, params: Record<string, unknown>) => string
  te: (key: string, locale?: string) => boolean
}
const phrase = (e: ApiErrorShape, lang: 'en' | 'ja') => {
  global.locale.value = lang
  return errorText(e, (k, p) => global.t(k, p ?? {}), (k) => global.te(k) || global.te(k, 'en'))
}
/** The error in both languages; the Japanese has Japanese in it and is not the engine's English. */
function both(e: ApiErrorShape): { en: string; ja: string } {
  const out = { en: phrase(e, 'en'), ja: phrase(e, 'ja') }
  expect(out.ja).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/)
  expect(out.ja).not.toBe(e.message)
  return out
}

const DEMO = join(ROOT, 'resources', 'demo', 'fashion_cnn.onnx')
const work = tempDir('metascope-error-text-')

describe('engine errors in the UI’s words, in both languages', () => {
  it('a file that is not a model, and a model file that is not there', async () => {
    const photo = join(work, 'photo.onnx')
    writeFileSync(photo, readFileSync(fixture('images', 'objects', 'coffee.png')))
    const notModel = both(await rejection(LoadedModel.open(photo)))
    expect(notModel.en).toMatch(/^photo\.onnx is not an ONNX model: the file is cut short or is something else/)
    expect(notModel.ja).toMatch(/^photo\.onnx は ONNX モデルではありません/)
    const missing = both(await rejection(LoadedModel.open(join(work, 'gone.onnx'))))
    expect(missing.en).toBe(`The model file ${join(work, 'gone.onnx')} does not exist.`)
    expect(missing.ja).toBe(`モデルファイル ${join(work, 'gone.onnx')} がありません。`)
  })

  it('a TensorFlow.js op the converter does not know: named, with its node', async () => {
    const dir = join(work, 'odd-op')
    cpSync(fixture('tfjs', 'small_graph'), dir, { recursive: true })
    const json = join(dir, 'model.json')
    writeFileSync(json, readFileSync(json, 'utf8').replace('"op":"Sigmoid"', '"op":"Erfinv"'))
    const e = both(await rejection(LoadedModel.open(json)))
    expect(e.en).toBe('model.json uses the TensorFlow operation Erfinv (node MobilenetV2/block_1/se/Sigmoid), which Metascope cannot convert yet.')
    expect(e.ja).toBe('model.json は TensorFlow の演算 Erfinv（ノード MobilenetV2/block_1/se/Sigmoid）を使っていますが、Metascope はまだこれを変換できません。')
  })

  it('a file added as an image that is not one', async () => {
    const notes = join(work, 'notes.png')
    writeFileSync(notes, 'shopping list\n')
    const e = both(await rejection(probeImage(notes)))
    expect(e.en).toMatch(/^notes\.png is not a readable image: the file is damaged or is not an image/)
    expect(e.ja).toMatch(/^notes\.png は画像として読めません/)
  })

  it('a layer that is not in the model, and a target class out of range', async () => {
    const model = await LoadedModel.open(DEMO)
    const layer = both(await rejection(CamRunner.create(model, { method: 'gradcam', layer: 'conv9' })))
    expect(layer.en).toMatch(/^There is no layer "conv9" in fashion_cnn\.onnx\. Close matches: \S/)
    expect(layer.ja).toMatch(/^fashion_cnn\.onnx に層「conv9」はありません。近い名前：\S/)
    const target = both(toErrorShape(await rejection(Promise.resolve().then(() => model.resolveTarget(10)))))
    expect(target.en).toBe('The target class 10 is out of range: this model has classes 0 to 9.')
    expect(target.ja).toBe('対象クラス 10 は範囲外です。このモデルのクラスは 0〜9 です。')
  })

  it('few-shot settings the model cannot take: a feature tensor without a batch axis, too many blocks, augmentation on tiny inputs', async () => {
    const model = await LoadedModel.open(DEMO)
    const head = findHead(model)
    const features = both(await rejection(Promise.resolve().then(() => resolveFeatures(model, head, head.weight))))
    expect(features.en).toMatch(new RegExp(`^The tensor "${head.weight}" of fashion_cnn\\.onnx has no batch axis .*Candidates: \\S`))
    expect(features.ja).toMatch(new RegExp(`^fashion_cnn\\.onnx のテンソル「${head.weight}」にはバッチ軸がありません`))
    const depth = both(await rejection(Promise.resolve().then(() => lastBlocks(model, resolveFeatures(model, head).tensor, 9))))
    expect(depth.en).toMatch(/^fashion_cnn\.onnx has 3 blocks that can be fine-tuned \(.+\): choose between 1 and 3, not 9\.$/)
    expect(depth.ja).toMatch(/^fashion_cnn\.onnx で微調整できるブロックは 3 個です/)
    const tiny = both(await rejection(Promise.resolve().then(() => checkAugmentable({ size: [1, 1], layout: 'NCHW', normalization: 'unit', resize: 'stretch' }, 'pixel.onnx'))))
    expect(tiny.en).toBe('pixel.onnx takes 1x1 images; augmentation (flip, crop, colour jitter) needs at least 8x8. Adapt without augmentation.')
    expect(tiny.ja).toMatch(/^pixel\.onnx の入力画像は 1x1 です/)
  })

  it('the engine restarting, a full queue, and memory', () => {
    const stopped = both({ code: 'engine-unavailable', message: 'The compute engine stopped (killed by SIGKILL). The job was lost with it; run it again.', details: { constraint: 'stopped', retryable: true } })
    expect(stopped.ja).toMatch(/計算エンジンが処理中に停止/)
    // A state the words do not know still reads in the user's language.
    expect(both({ code: 'engine-unavailable', message: 'raw', details: { constraint: 'new-state' } }).ja).toMatch(/計算エンジンは今使えません/)
    expect(both({ code: 'busy', message: 'raw', details: { queued: 8, limit: 8 } }).en).toBe('8 tasks are already waiting (the limit is 8): wait for some to finish or cancel them, then try again.')
    const oom = toErrorShape(new Error('Failed to allocate memory for requested buffer of size 123456789'))
    expect(oom).toMatchObject({ code: 'internal', details: { constraint: 'out-of-memory' } })
    expect(both(oom).en).toMatch(/^The engine ran out of memory/)
  })

  it('an error nobody phrased keeps the engine’s message, which names the file', () => {
    const e = { code: 'bad-file' as const, message: 'weights.bin changed while it was read.' }
    expect(phrase(e, 'ja')).toBe(e.message)
    expect(phrase({ ...e, details: { field: 'modelPath', constraint: 'never-heard-of' } }, 'ja')).toBe(e.message)
  })

  it('every error phrase exists in both languages', () => {
    const keys = (o: unknown, at = ''): string[] =>
      typeof o === 'string' ? [at] : Object.entries(o as Record<string, unknown>).flatMap(([k, v]) => keys(v, at ? `${at}.${k}` : k))
    expect(keys(ja.errors).sort()).toEqual(keys(en.errors).sort())
  })
})
