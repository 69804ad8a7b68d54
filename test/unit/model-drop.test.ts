import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sanitizeRelativePath } from '../../src/main/engine/data/uploads'
import { tfjsShardPaths } from '../../src/shared/tfjs-manifest'
import { fixture } from '../helpers'

/**
 * The renderer's model-file chooser (src/renderer/src/lib/model-files.ts), loaded at run time:
 * tsconfig.node.json does not list renderer files, so a static import would not typecheck here
 * (vue-tsc checks the module itself).
 */
type Named = { relativePath: string }
type Choice<T> = { model: T; companions: T[]; missing: string[] }
type ModelFiles = {
  isModelFile(relativePath: string): boolean
  chooseModelFiles<T extends Named>(files: T[], manifests?: ReadonlyMap<T, string[] | null>): Choice<T> | null
  readManifests<T extends Named & { file: Blob }>(files: T[]): Promise<Map<T, string[] | null>>
  uploadsFor<T extends Named>(choice: Choice<T>): (T & { listedBy?: string })[]
}
const modulePath = ['..', '..', 'src', 'renderer', 'src', 'lib', 'model-files.ts'].join('/')
let m: ModelFiles

beforeAll(async () => {
  m = (await import(/* @vite-ignore */ modulePath)) as ModelFiles
})

const f = (relativePath: string): Named => ({ relativePath })
const manifest = (paths: string[]) => ({ modelTopology: { class_name: 'Sequential' }, weightsManifest: [{ paths, weights: [] }] })
/** Names only, so a failing expectation reads as paths. */
const names = (c: Choice<Named> | null) => c && { model: c.model.relativePath, companions: c.companions.map((x) => x.relativePath), missing: c.missing }

describe('choosing the model among dropped or picked files', () => {
  it('takes a lone .onnx as the model, with nothing to send beside it', () => {
    expect(names(m.chooseModelFiles([f('net.onnx')]))).toEqual({ model: 'net.onnx', companions: [], missing: [] })
    expect(m.isModelFile('a/NET.ONNX')).toBe(true)
    expect(m.isModelFile('a/.hidden/model.json')).toBe(false)
  })

  it('sends the shards a model.json lists, whatever the json is called, and not the other files', () => {
    const json = f('emotion.json')
    const bin = f('emotion.bin')
    const files = [f('photo.png'), bin, json, f('unrelated.bin')]
    const c = m.chooseModelFiles(files, new Map([[json, tfjsShardPaths(manifest(['emotion.bin']))]]))
    expect(names(c)).toEqual({ model: 'emotion.json', companions: ['emotion.bin'], missing: [] })
    expect(c!.companions[0]).toBe(bin)
  })

  it('names the shards the manifest lists that were not given', () => {
    const json = f('model.json')
    const c = m.chooseModelFiles([json, f('group1-shard1of2.bin')], new Map([[json, ['group1-shard1of2.bin', 'group1-shard2of2.bin']]]))
    expect(names(c)).toEqual({ model: 'model.json', companions: ['group1-shard1of2.bin'], missing: ['group1-shard2of2.bin'] })
  })

  it('sorts by the manifest, not by extension: extension-less shards travel, photos and .DS_Store stay', () => {
    // tfjs-converter's names, given loose (picked or dropped files) and as a dropped folder.
    for (const dir of ['', 'mobilenet_v2/']) {
      const json = f(`${dir}model.json`)
      const files = [f(`${dir}.DS_Store`), f(`${dir}group1-shard2of2`), json, f(`${dir}group1-shard1of2`), f(`${dir}cat.png`), f(`${dir}notes.txt`), f(`${dir}group1-shard1of2.bak`)]
      const c = m.chooseModelFiles(files, new Map([[json, tfjsShardPaths(manifest(['group1-shard1of2', 'group1-shard2of2']))]]))
      expect(names(c), dir).toEqual({ model: `${dir}model.json`, companions: [`${dir}group1-shard1of2`, `${dir}group1-shard2of2`], missing: [] })
    }
  })

  it('names the extension-less shards that were not given, by their manifest names', () => {
    const json = f('model.json')
    const listed = ['group1-shard1of3', 'group1-shard2of3', 'group1-shard3of3']
    const c = m.chooseModelFiles([json, f('group1-shard2of3'), f('.group1-shard1of3')], new Map([[json, listed]]))
    // A hidden file is never a shard, even under a listed name.
    expect(names(c)).toEqual({ model: 'model.json', companions: ['group1-shard2of3'], missing: ['group1-shard1of3', 'group1-shard3of3'] })
    // An extension-less file on its own is not a model.
    expect(m.chooseModelFiles([f('group1-shard1of1')])).toBeNull()
  })

  it('uploads the model first, then each shard marked as listed by it (the server admits any name it lists)', () => {
    const json = f('m/model.json')
    const c = m.chooseModelFiles([f('m/group1-shard1of1'), json], new Map([[json, ['group1-shard1of1']]]))!
    expect(m.uploadsFor(c)).toEqual([{ relativePath: 'm/model.json' }, { relativePath: 'm/group1-shard1of1', listedBy: 'm/model.json' }])
    expect(m.uploadsFor(m.chooseModelFiles([f('net.onnx')])!)).toEqual([{ relativePath: 'net.onnx' }])
  })

  it("picks model.json over Teachable Machine's metadata.json in a dropped folder, keeping folder-relative shard paths", () => {
    const model = f('tm-export/model.json')
    const meta = f('tm-export/metadata.json')
    const files = [meta, f('tm-export/weights.bin'), model]
    const manifests = new Map([
      [meta, tfjsShardPaths({ tfjsVersion: '1.3.1', labels: ['a', 'b'] })],
      [model, tfjsShardPaths(manifest(['weights.bin']))]
    ])
    expect(manifests.get(meta)).toBeNull()
    expect(names(m.chooseModelFiles(files, manifests))).toEqual({ model: 'tm-export/model.json', companions: ['tm-export/weights.bin'], missing: [] })
  })

  it('decodes URL-encoded shard paths and follows sub-folders, as tfjs resolves them', () => {
    expect(tfjsShardPaths(manifest(['weights/group%201.bin', './b.bin']))).toEqual(['weights/group 1.bin', 'b.bin'])
    const json = f('m/model.json')
    const shard = f('m/weights/group 1.bin')
    const c = m.chooseModelFiles([json, shard, f('m/b.bin')], new Map([[json, ['weights/group 1.bin', 'b.bin']]]))
    expect(names(c)).toEqual({ model: 'm/model.json', companions: ['m/weights/group 1.bin', 'm/b.bin'], missing: [] })
  })

  it('prefers the shallowest model, then .onnx or model.json, then the name', () => {
    expect(names(m.chooseModelFiles([f('a/b/deep.onnx'), f('a/top.json')]))?.model).toBe('a/top.json')
    expect(names(m.chooseModelFiles([f('z.json'), f('y.onnx')]))?.model).toBe('y.onnx')
    expect(names(m.chooseModelFiles([f('other.json'), f('model.json')]))?.model).toBe('model.json')
  })

  it('without a readable manifest sends the .bin files in the model folder, not those elsewhere', () => {
    const c = m.chooseModelFiles([f('m/model.json'), f('m/s1.bin'), f('m/sub/s2.bin'), f('other/x.bin'), f('m/.hidden.bin')])
    expect(names(c)).toEqual({ model: 'm/model.json', companions: ['m/s1.bin', 'm/sub/s2.bin'], missing: [] })
  })

  it('returns null when no file could be a model, and still offers a non-model json to the engine to explain', () => {
    expect(m.chooseModelFiles([f('group1-shard1of1.bin'), f('cat.png')])).toBeNull()
    expect(m.chooseModelFiles([])).toBeNull()
    const labels = f('labels.json')
    expect(names(m.chooseModelFiles([labels], new Map([[labels, null]])))).toEqual({ model: 'labels.json', companions: [], missing: [] })
  })

  it('reads the committed tfjs fixtures as Files: their own shards are chosen, and the upload store takes the names', async () => {
    for (const [dir, jsonName] of [['small_cnn', 'model.json'], ['teachable', 'teachable.json']]) {
      const folder = fixture('tfjs', dir)
      const onDisk = readdirSync(folder)
      const files = onDisk.map((name) => ({ relativePath: `${dir}/${name}`, file: new File([readFileSync(join(folder, name))], name) }))
      const c = m.chooseModelFiles(files, await m.readManifests(files))
      // Independent of the chooser: the manifest in the file itself.
      const listed = (JSON.parse(readFileSync(join(folder, jsonName), 'utf8')) as { weightsManifest: { paths: string[] }[] }).weightsManifest.flatMap((g) => g.paths)
      expect(c?.model.relativePath).toBe(`${dir}/${jsonName}`)
      expect(c?.companions.map((x) => x.relativePath).sort()).toEqual(listed.map((p) => `${dir}/${p}`).sort())
      expect(c?.missing).toEqual([])
      for (const x of [c!.model, ...c!.companions]) expect(sanitizeRelativePath(x.relativePath)).toEqual(x.relativePath.split('/'))
    }
  })
})
