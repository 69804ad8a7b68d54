import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { onnx } from 'onnx-proto'
import { describe, expect, it } from 'vitest'
import { LoadedModel } from '../../src/main/engine/model/loaded-model'
import { chooseLabels, labelReadings } from '../../src/main/engine/onnx/summary'
import { fixture, rejection, tempDir } from '../helpers'

/**
 * Labels metadata that does not fit the model (comma-separated, a wrong count, not JSON) is a warning
 * with a fallback to class numbers, never an unusable model. A comma-separated list is accepted when
 * its count matches the class count.
 */
const dir = tempDir()

/** mini_resnet (10 classes) with the given metadata entries. */
function withMetadata(name: string, meta: Record<string, string>): string {
  const model = onnx.ModelProto.decode(readFileSync(fixture('models', 'mini_resnet.onnx')))
  model.metadataProps = Object.entries(meta).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }))
  const path = join(dir, name)
  writeFileSync(path, onnx.ModelProto.encode(model).finish())
  return path
}

const TEN = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

describe('labels metadata readings', () => {
  it('reads JSON arrays and objects, lines, and comma-separated lists', () => {
    expect(labelReadings({ labels: JSON.stringify(['a', 'b']) })).toEqual([{ key: 'labels', how: 'JSON', labels: ['a', 'b'] }])
    expect(labelReadings({ classes: '{"1": "b", "0": "a"}' })[0].labels).toEqual(['a', 'b'])
    expect(labelReadings({ labels: 'a\nb\n' }).map((r) => r.how)).toEqual(['lines'])
    expect(labelReadings({ labels: 'cat, dog,bird' }).at(-1)).toEqual({ key: 'labels', how: 'comma-separated', labels: ['cat', 'dog', 'bird'] })
    expect(labelReadings({ labels: "['cat', 'dog']" }).at(-1)?.labels).toEqual(['cat', 'dog'])
  })

  it('picks the reading whose count matches the classes: ImageNet-style lines keep their commas', () => {
    const lines = 'tench, Tinca tinca\ngoldfish, Carassius auratus'
    expect(chooseLabels({ labels: lines }, 2, 'm.onnx')).toEqual({ labels: ['tench, Tinca tinca', 'goldfish, Carassius auratus'], warning: null })
    expect(chooseLabels({ labels: 'cat,dog,bird' }, 3, 'm.onnx')).toEqual({ labels: ['cat', 'dog', 'bird'], warning: null })
  })

  it('falls back to class numbers with a warning that names the file and the counts', () => {
    const { labels, warning } = chooseLabels({ labels: 'cat,dog,bird' }, 10, 'm.onnx')
    expect(labels).toBeNull()
    expect(warning).toContain('m.onnx')
    expect(warning).toContain('10')
    expect(warning).toContain('3 as comma-separated')
    expect(chooseLabels({ labels: '  ' }, 10, 'm.onnx').warning).toContain('empty')
    expect(chooseLabels({}, 10, 'm.onnx')).toEqual({ labels: null, warning: null })
  })
})

describe('opening models with odd labels metadata', () => {
  it('comma-separated labels with the right count are used', async () => {
    const m = await LoadedModel.open(withMetadata('comma10.onnx', { labels: TEN.join(',') }))
    expect(m.labels).toEqual(TEN)
    expect(m.summary.warnings).toBeUndefined()
    expect(m.resolveTarget('frog')).toBe(6)
  })

  it.each([
    ['comma-separated, wrong count', { labels: 'cat,dog,bird' }],
    ['a JSON array of the wrong length', { labels: JSON.stringify(['a', 'b']) }],
    ['one line', { class_names: 'just one' }]
  ])('%s: opens, classes shown by number, with a warning', async (name, meta) => {
    const m = await LoadedModel.open(withMetadata(`${name.replace(/\W+/g, '_')}.onnx`, meta))
    expect(m.labels).toBeNull()
    expect(m.labelOf(3)).toBe('3')
    expect(m.summary.warnings?.length).toBe(1)
    expect(m.summary.warnings![0]).toMatch(/classes are shown by number/)
  })

  it('a labels file the user gave with the wrong count is still an error', async () => {
    const err = await rejection(LoadedModel.open(withMetadata('file.onnx', {}), ['a', 'b']))
    expect(err.code).toBe('invalid-arguments')
    expect(err.message).toContain('list 2 classes but the model outputs 10')
  })
})
