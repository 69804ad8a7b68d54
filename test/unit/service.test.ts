import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Service } from '../../src/main/service'
import { fixture, rejection, tempDir } from '../helpers'

const service = new Service(() => {})

describe('models.open', () => {
  it('summarises a real ONNX model with its labels', async () => {
    const s = (await service.call('models.open', { path: fixture('models', 'tiny_cnn.onnx') })) as Record<string, unknown>
    expect(s).toMatchObject({ format: 'onnx', opsets: { 'ai.onnx': 13 }, labels: ['circle', 'square', 'triangle', 'cross', 'ring'] })
    expect(s.inputs).toEqual([{ name: 'input', elemType: 'float', shape: ['batch', 3, 32, 32] }])
    // The exporter folds BatchNorm into the convs: (3*8*9+8) + (8*16*9+16) + (16*16*9+16) + (16*5+5).
    expect(s.parameterCount).toBe(3797)
  })

  it('names the file when it does not exist', async () => {
    const e = await rejection(service.call('models.open', { path: '/no/such/model.onnx' }))
    expect(e.code).toBe('not-found')
    expect(e.message).toContain('/no/such/model.onnx')
  })

  it('refuses a truncated model and a non-ONNX file, naming each', async () => {
    const dir = tempDir()
    const bytes = readFileSync(fixture('models', 'tiny_cnn.onnx'))
    writeFileSync(join(dir, 'truncated.onnx'), bytes.subarray(0, bytes.length / 3))
    writeFileSync(join(dir, 'notes.onnx'), 'this is a text file, not a model\n')
    writeFileSync(join(dir, 'empty.onnx'), '')
    for (const name of ['truncated.onnx', 'notes.onnx', 'empty.onnx']) {
      const e = await rejection(service.call('models.open', { path: join(dir, name) }))
      expect(e.code, name).toBe('bad-file')
      expect(e.message, name).toContain(name)
      expect(e.file).toBe(join(dir, name))
    }
  })
})

describe('images.add', () => {
  it('adds a folder recursively and reports unreadable files without dropping the good ones', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'cats'))
    copyFileSync(fixture('images', 'animals', 'chelsea.png'), join(dir, 'cats', 'chelsea.png'))
    copyFileSync(fixture('images', 'objects', 'rocket.jpg'), join(dir, 'rocket.jpg'))
    writeFileSync(join(dir, 'zero.png'), '')
    writeFileSync(join(dir, 'garbage.jpg'), 'not a jpeg at all')
    const r = (await service.call('images.add', { paths: [dir, join(dir, 'missing.png')] })) as {
      added: { name: string; folderLabel: string; width: number }[]
      failed: { file: string; error: { code: string; message: string } }[]
    }
    expect(r.added.map((a) => a.name).sort()).toEqual(['chelsea.png', 'rocket.jpg'])
    expect(r.added.find((a) => a.name === 'chelsea.png')?.folderLabel).toBe('cats')
    const failures = Object.fromEntries(r.failed.map((f) => [f.file.split('/').pop(), f.error]))
    expect(failures['zero.png']).toMatchObject({ code: 'bad-file', message: expect.stringContaining('zero.png') })
    expect(failures['garbage.jpg']).toMatchObject({ code: 'bad-file', message: expect.stringContaining('garbage.jpg') })
    expect(failures['missing.png']).toMatchObject({ code: 'not-found' })
    const id = (r.added[0] as unknown as { id: string }).id
    expect(service.imagePath(id)).toContain(dir)
    expect(() => service.imagePath('not-an-id')).toThrow(/No image/)
  })
})

describe('app.info', () => {
  it('names the onnxruntime providers and the tfjs backend with a reason', async () => {
    const info = (await service.call('app.info', {})) as { backends: { onnxruntime: { inUse: string[] }; tfjs: { backend: string; reason: string } } }
    expect(info.backends.onnxruntime.inUse).toContain('cpu')
    expect(info.backends.tfjs.reason).toMatch(/tfjs/)
  })
})
