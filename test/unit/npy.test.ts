import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/errors'
import { decodeNpy, encodeNpy, readNpy, writeNpy } from '../../src/main/engine/data/npy'
import { rejection, tempDir } from '../helpers'

/** A .npy file built byte by byte as numpy writes one, so this test needs no numpy. */
function handMade(descr: string, shape: string, body: Buffer, major = 1, fortran = 'False'): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`
  const prefix = major === 1 ? 10 : 12
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64
  const header = Buffer.alloc(total, ' ')
  header.write('\x93NUMPY', 0, 'latin1')
  header[6] = major
  header[7] = 0
  if (major === 1) header.writeUInt16LE(total - prefix, 8)
  else header.writeUInt32LE(total - prefix, 8)
  header.write(dict, prefix, 'latin1')
  header[total - 1] = 0x0a
  return Buffer.concat([header, body])
}

const f4 = (values: number[]) => {
  const b = Buffer.alloc(values.length * 4)
  values.forEach((v, i) => b.writeFloatLE(v, i * 4))
  return b
}
const f8 = (values: number[]) => {
  const b = Buffer.alloc(values.length * 8)
  values.forEach((v, i) => b.writeDoubleLE(v, i * 8))
  return b
}

const hasNumpy = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0

describe('npy', () => {
  it('round-trips shape and values through a file', async () => {
    const dir = tempDir()
    const data = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 0.5 - 3)
    const path = join(dir, 'a.npy')
    await writeNpy(path, [2, 3, 4], data)
    expect(await readNpy(path)).toEqual({ shape: [2, 3, 4], data })
  })

  it('writes a version 1.0 <f4 header padded to 64 bytes, as numpy does', () => {
    const bytes = encodeNpy([5], new Float32Array(5))
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]))
    const headerLen = bytes.readUInt16LE(8)
    expect((10 + headerLen) % 64).toBe(0)
    const header = bytes.subarray(10, 10 + headerLen).toString('latin1')
    expect(header).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(5,\), \} +\n$/)
    expect(bytes.length).toBe(10 + headerLen + 20)
  })

  it('writes 0-d and empty arrays', () => {
    expect(decodeNpy(encodeNpy([], Float32Array.of(7)))).toEqual({ shape: [], data: Float32Array.of(7) })
    expect(decodeNpy(encodeNpy([0, 3], new Float32Array(0)))).toEqual({ shape: [0, 3], data: new Float32Array(0) })
  })

  it('reads hand-made float32 and float64 files (converting float64 to float32)', async () => {
    const dir = tempDir()
    const a = join(dir, 'f4.npy')
    writeFileSync(a, handMade('<f4', '(2, 2)', f4([1, -2.5, 3, 1e-3])))
    expect(await readNpy(a)).toEqual({ shape: [2, 2], data: Float32Array.of(1, -2.5, 3, 1e-3) })
    const b = join(dir, 'f8.npy')
    writeFileSync(b, handMade('<f8', '(3,)', f8([0.1, 1e300, -7])))
    const got = await readNpy(b)
    expect(got.shape).toEqual([3])
    expect(got.data).toEqual(Float32Array.of(0.1, Infinity, -7))
  })

  it('reads version 2.0 headers and double-quoted keys', () => {
    const body = f4([4, 5])
    expect(decodeNpy(handMade('<f4', '(1, 2)', body, 2))).toEqual({ shape: [1, 2], data: Float32Array.of(4, 5) })
    const dq = Buffer.from(handMade('<f4', '(2,)', body).toString('latin1').replace(/'/g, '"'), 'latin1')
    expect(decodeNpy(dq).data).toEqual(Float32Array.of(4, 5))
  })

  it('names the file when it is truncated', async () => {
    const dir = tempDir()
    const path = join(dir, 'cut.npy')
    const full = encodeNpy([4, 4], new Float32Array(16))
    writeFileSync(path, full.subarray(0, full.length - 3))
    const e = await rejection(readNpy(path))
    expect(e).toBeInstanceOf(ApiError)
    expect(e.code).toBe('bad-file')
    expect(e.file).toBe(path)
    expect(e.message).toMatch(/^cut\.npy is not a valid \.npy file: shape \(4, 4\) needs 64 bytes of data but the file has 61/)
  })

  it('rejects bad magic, a header cut short, other dtypes and Fortran order', async () => {
    const dir = tempDir()
    const cases: [string, Buffer, RegExp][] = [
      ['text.npy', Buffer.from('hello, this is not numpy'), /magic/],
      ['head.npy', encodeNpy([2], new Float32Array(2)).subarray(0, 40), /header says \d+ bytes/],
      ['int.npy', handMade('<i8', '(1,)', Buffer.alloc(8)), /dtype '<i8' is not supported/],
      ['big.npy', handMade('>f4', '(1,)', Buffer.alloc(4)), /dtype '>f4'/],
      ['fortran.npy', handMade('<f4', '(1,)', Buffer.alloc(4), 1, 'True'), /Fortran/],
      ['garbage.npy', Buffer.concat([Buffer.from('\x93NUMPY\x01\x00\x08\x00', 'latin1'), Buffer.from('{nope}\n ')]), /bad header/]
    ]
    for (const [name, bytes, why] of cases) {
      const path = join(dir, name)
      writeFileSync(path, bytes)
      const e = await rejection(readNpy(path))
      expect(e.code, name).toBe('bad-file')
      expect(e.message, name).toContain(`${name} is not a valid .npy file`)
      expect(e.message, name).toMatch(why)
    }
  })

  it('gives an ApiError for bad bytes that came from no file', () => {
    expect(() => decodeNpy(Buffer.from('nope'))).toThrow(/^The data is not a valid \.npy file: /)
    expect(() => decodeNpy(Buffer.from('nope'))).toThrow(ApiError)
  })

  it('says a missing file does not exist', async () => {
    const e = await rejection(readNpy('/no/such/dir/x.npy'))
    expect(e.code).toBe('not-found')
    expect(e.message).toContain('/no/such/dir/x.npy')
  })

  it('refuses a shape that does not match the data', () => {
    expect(() => encodeNpy([2, 2], new Float32Array(3))).toThrow(/holds 4 values but 3/)
    expect(() => encodeNpy([-1], new Float32Array(0))).toThrow(ApiError)
  })

  it('reports a missing output folder', async () => {
    const e = await rejection(writeNpy('/no/such/dir/out.npy', [1], new Float32Array(1)))
    expect(e.code).toBe('not-found')
    expect(e.message).toContain('out.npy')
  })

  // Optional cross-check with a real numpy where there is one; the hand-made bytes above always run.
  it.skipIf(!hasNumpy)('agrees with numpy both ways', async () => {
    const dir = tempDir()
    const fromNumpy = join(dir, 'np.npy')
    const ours = join(dir, 'ours.npy')
    await writeNpy(ours, [2, 3], Float32Array.of(0, 1.5, -2, 3.25, 4, 5e-8))
    const script = [
      'import numpy as np, sys',
      'np.save(sys.argv[1], np.arange(12, dtype=np.float64).reshape(3, 4) / 7)',
      'a = np.load(sys.argv[2])',
      'assert a.dtype == np.float32 and a.shape == (2, 3), (a.dtype, a.shape)',
      'print(" ".join(repr(float(x)) for x in a.ravel()))'
    ].join('\n')
    const run = spawnSync('/usr/bin/python3', ['-c', script, fromNumpy, ours], { encoding: 'utf8' })
    expect(run.stderr).toBe('')
    expect(run.stdout.trim().split(' ').map(Number)).toEqual([...Float32Array.of(0, 1.5, -2, 3.25, 4, 5e-8)])
    const got = await readNpy(fromNumpy)
    expect(got.shape).toEqual([3, 4])
    expect(got.data).toEqual(Float32Array.from({ length: 12 }, (_, i) => i / 7))
    expect(readFileSync(fromNumpy).subarray(0, 6).toString('latin1')).toBe('\x93NUMPY')
  })
})
