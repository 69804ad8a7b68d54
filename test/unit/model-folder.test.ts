import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { onnx } from 'onnx-proto'
import { describe, expect, it } from 'vitest'
import { openModelFile } from '../../src/main/engine/formats'
import { fixture, rejection, tempDir } from '../helpers'

/**
 * Safety round 2, items 5 and 6: a model's files stay in its folder. A TensorFlow.js manifest is data
 * from whoever made the model; its shard paths must resolve inside the model's folder (after decoding
 * and after following links) and name regular files of the declared size before anything is read, and
 * a malformed manifest is a 'bad-file' naming the field, never a raw JavaScript message.
 */
const SMALL = fixture('tfjs', 'small_cnn', 'model.json')
const SHARD = fixture('tfjs', 'small_cnn', 'group1-shard1of1.bin')
const SHARD_BYTES = statSync(SHARD).size

/** <root>/model/model.json with its manifest edited, the real shard beside it, and a same-sized decoy at <root>/outside.bin. */
function layout(edit: (json: { weightsManifest: unknown }) => void) {
  const root = tempDir()
  const dir = join(root, 'model')
  mkdirSync(dir)
  const json = JSON.parse(readFileSync(SMALL, 'utf8')) as { weightsManifest: unknown }
  edit(json)
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json))
  copyFileSync(SHARD, join(dir, 'group1-shard1of1.bin'))
  // The probe: a file elsewhere of exactly the weights' size was loaded as the weights.
  copyFileSync(SHARD, join(root, 'outside.bin'))
  return { root, dir, path: join(dir, 'model.json') }
}

const withPaths = (paths: string[]) => (j: { weightsManifest: unknown }) => {
  ;(j.weightsManifest as { paths: string[] }[])[0].paths = paths
}

/** Open must fail fast: a read of /dev/zero or a FIFO would hang, so a hang fails the test by its timeout. */
async function refusal(path: string) {
  return rejection(openModelFile(path))
}

describe('TensorFlow.js shard paths stay in the model folder', () => {
  it('the untouched model opens (the layout is right)', async () => {
    const { path } = layout(() => {})
    expect((await openModelFile(path)).format).toBe('tfjs-layers')
  })

  it.each([
    ['../outside.bin', /leaves the model's folder/],
    ['%2e%2e/outside.bin', /leaves the model's folder/],
    ['sub/..%2F..%2Foutside.bin', /leaves the model's folder/],
    ['../../../../../../etc/hostname', /leaves the model's folder/],
    ['/etc/hostname', /absolute path/],
    ['%2Fetc%2Fhostname', /absolute path/]
  ])('refuses %s, naming the field', async (p, why) => {
    const { path } = layout(withPaths([p]))
    const err = await refusal(path)
    expect(err.code).toBe('bad-file')
    expect(err.message).toMatch(why)
    expect(err.message).toMatch(/weightsManifest\[0\]\.paths\[0\]/)
    expect(err.details).toMatchObject({ field: 'weightsManifest[0].paths[0]' })
  })

  it('refuses a shard that is a link to a file outside the folder', async () => {
    const { root, dir, path } = layout(withPaths(['linked.bin']))
    symlinkSync(join(root, 'outside.bin'), join(dir, 'linked.bin'))
    const err = await refusal(path)
    expect(err).toMatchObject({ code: 'bad-file', message: expect.stringMatching(/link to a file outside the model's folder/) })
  })

  it('accepts a link that stays inside the folder', async () => {
    const { dir, path } = layout(withPaths(['weights/linked.bin']))
    mkdirSync(join(dir, 'weights'))
    symlinkSync(join(dir, 'group1-shard1of1.bin'), join(dir, 'weights', 'linked.bin'))
    expect((await openModelFile(path)).format).toBe('tfjs-layers')
  })

  it('refuses a device (a link to /dev/zero) and a FIFO without reading them', async () => {
    const dev = layout(withPaths(['zero.bin']))
    symlinkSync('/dev/zero', join(dev.dir, 'zero.bin'))
    expect((await refusal(dev.path)).message).toMatch(/link to a file outside|not a regular file/)
    const fifo = layout(withPaths(['pipe.bin']))
    execFileSync('mkfifo', [join(fifo.dir, 'pipe.bin')])
    expect((await refusal(fifo.path)).message).toMatch(/not a regular file \(a device, pipe or socket\)/)
    expect(SHARD_BYTES).toBeGreaterThan(0)
  }, 10_000)

  it('a model file that is a FIFO is refused, not waited on', async () => {
    const dir = tempDir()
    execFileSync('mkfifo', [join(dir, 'model.onnx')])
    const err = await refusal(join(dir, 'model.onnx'))
    expect(err).toMatchObject({ code: 'bad-file', message: expect.stringMatching(/not a regular file/) })
  }, 10_000)
})

describe('malformed manifests answer bad-file naming the field', () => {
  it.each([
    ['weightsManifest as an object', (j: Record<string, unknown>) => (j.weightsManifest = { paths: ['group1-shard1of1.bin'] }), /weightsManifest expected array/],
    ['a bad percent-escape', (j: Record<string, unknown>) => withPaths(['%E0%A4%A.bin'])(j as { weightsManifest: unknown }), /weightsManifest\[0\]\.paths\[0\].*not valid percent-encoding/],
    ['a weight with shape null', (j: Record<string, unknown>) => ((j.weightsManifest as { weights: { shape: unknown }[] }[])[0].weights[0].shape = null), /weightsManifest\[0\]\.weights\[0\]\.shape expected array/],
    ['weights not a list', (j: Record<string, unknown>) => ((j.weightsManifest as { weights: unknown }[])[0].weights = 'all'), /weightsManifest\[0\]\.weights expected array/],
    ['a shape of absurd size', (j: Record<string, unknown>) => ((j.weightsManifest as { weights: { shape: unknown }[] }[])[0].weights[0].shape = [1e6, 1e6, 1e6]), /weightsManifest\[0\]\.weights\[0\]\.shape declares more than/]
  ])('%s', async (_name, edit, message) => {
    const { path } = layout(edit as (j: { weightsManifest: unknown }) => void)
    const err = await refusal(path)
    expect(err.code).toBe('bad-file')
    expect(err.message).toMatch(/model\.json/)
    expect(err.message).toMatch(message)
    expect(err.message).not.toMatch(/is not iterable|URI malformed|Cannot read properties/)
  })
})

describe('ONNX external data stays refused', () => {
  it.each(['../../../../../../etc/hostname', 'package.json'])('an initializer whose data lives in %s is a typed error, and nothing outside is read', async (location) => {
    const model = onnx.ModelProto.decode(readFileSync(fixture('models', 'tiny_cnn.onnx')))
    const init = model.graph!.initializer![0]
    init.rawData = new Uint8Array(0)
    init.floatData = []
    init.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL
    init.externalData = [
      // Resolved by onnxruntime against the working folder: package.json is inside it, and would be read.
      { key: 'location', value: location },
      { key: 'offset', value: '0' },
      { key: 'length', value: '4' }
    ]
    const path = join(tempDir(), 'external.onnx')
    writeFileSync(path, onnx.ModelProto.encode(model).finish())
    const err = await refusal(path)
    expect(err.code).toBe('unsupported')
    expect(err.message).toMatch(/features\.8\.weight as external data/)
    expect(err.message).toMatch(/external\.onnx/)
  })
})
