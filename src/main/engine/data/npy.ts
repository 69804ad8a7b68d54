import { readFile } from 'node:fs/promises'
import { endianness } from 'node:os'
import { basename } from 'node:path'
import { ApiError } from '../../../shared/errors'
import { fileError } from '../errors'
import { writeFileAtomic } from '../files/safe-write'

/**
 * NumPy's .npy format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * magic "\x93NUMPY", a major/minor version, a little-endian header length (2 bytes in 1.0, 4 in
 * 2.0/3.0), then a Python dict literal describing dtype, order and shape, then the raw array.
 */
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]) // \x93NUMPY

/** numpy >= 1.14 pads the header so the data starts 64-byte aligned; we do the same when writing. */
const ALIGN = 64

const ITEM_SIZES: Record<string, 4 | 8> = { '<f4': 4, '<f8': 8 }

export interface NpyArray {
  shape: number[]
  data: Float32Array
}

interface NpyHeader {
  descr: string
  fortranOrder: boolean
  shape: number[]
}

export async function readNpy(path: string): Promise<NpyArray> {
  const bytes = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    throw fileError(err, path, '.npy')
  })
  return decodeNpy(bytes, path)
}

/**
 * Decodes .npy bytes (float32 or float64, C order) into float32 values. `file`, when the bytes came
 * from one, is named in the error.
 */
export function decodeNpy(bytes: Buffer, file?: string): NpyArray {
  const fail = (why: string): never => {
    const what = file === undefined ? 'The data' : basename(file)
    throw new ApiError('bad-file', `${what} is not a valid .npy file: ${why}`, file)
  }
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(MAGIC)) fail('it does not start with the NumPy magic bytes')
  const major = bytes[6]
  const minor = bytes[7]
  if (major < 1 || major > 3 || minor !== 0) fail(`unsupported format version ${major}.${minor}`)
  const lenBytes = major === 1 ? 2 : 4
  if (bytes.length < 8 + lenBytes) fail('the header is truncated')
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8)
  const dataStart = 8 + lenBytes + headerLen
  if (bytes.length < dataStart) fail(`the header says ${headerLen} bytes but the file ends before that`)
  // Version 3.0 exists only to allow UTF-8 in the header (structured dtype field names).
  const text = bytes.subarray(8 + lenBytes, dataStart).toString(major === 3 ? 'utf8' : 'latin1')
  let header: NpyHeader
  try {
    header = parseHeader(text)
  } catch (err) {
    return fail(`bad header (${(err as Error).message})`)
  }
  const itemSize = ITEM_SIZES[header.descr]
  if (itemSize === undefined) {
    fail(`dtype '${header.descr}' is not supported (only little-endian float32 '<f4' and float64 '<f8')`)
  }
  if (header.fortranOrder) fail('Fortran-ordered arrays are not supported (save with fortran_order=False)')
  const count = header.shape.reduce((a, b) => a * b, 1)
  const expected = count * itemSize
  const actual = bytes.length - dataStart
  if (actual !== expected) {
    fail(`shape (${header.shape.join(', ')}) needs ${expected} bytes of data but the file has ${actual} (truncated or corrupt)`)
  }
  // DataView rather than a typed-array view: the data offset need not be aligned within the
  // Buffer's pool, and this stays correct on big-endian hosts.
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, expected)
  const data = new Float32Array(count)
  if (itemSize === 4) for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true)
  else for (let i = 0; i < count; i++) data[i] = view.getFloat64(i * 8, true)
  return { shape: header.shape, data }
}

/** Encodes float32 values as a version 1.0 '<f4' C-order .npy file that numpy.load reads. */
export function encodeNpy(shape: number[], data: Float32Array): Buffer {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new ApiError('invalid-arguments', `Cannot write .npy: shape (${shape.join(', ')}) has a dimension that is not a non-negative integer.`)
    }
  }
  const count = shape.reduce((a, b) => a * b, 1)
  if (count !== data.length) {
    throw new ApiError('invalid-arguments', `Cannot write .npy: shape (${shape.join(', ')}) holds ${count} values but ${data.length} were given.`)
  }
  // Python tuple syntax: a 1-tuple needs its trailing comma, the empty tuple is ().
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${tuple}, }`
  // 1.0 stores the header length in 2 bytes; only absurdly many dimensions would need 2.0.
  const padded = (prefix: number) => Math.ceil((prefix + dict.length + 1) / ALIGN) * ALIGN
  const major = padded(10) - 10 > 0xffff ? 2 : 1
  const prefix = major === 1 ? 10 : 12
  const total = padded(prefix)
  const headerLen = total - prefix
  const header = Buffer.alloc(total, 0x20) // space padding, as numpy writes
  MAGIC.copy(header, 0)
  header[6] = major
  header[7] = 0
  if (major === 1) header.writeUInt16LE(headerLen, 8)
  else header.writeUInt32LE(headerLen, 8)
  header.write(dict, prefix, 'latin1')
  header[total - 1] = 0x0a // the header ends with a newline
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  const out = Buffer.concat([header, body])
  if (endianness() === 'BE') out.subarray(total).swap32()
  return out
}

export async function writeNpy(path: string, shape: number[], data: Float32Array): Promise<void> {
  const bytes = encodeNpy(shape, data)
  await writeFileAtomic(path, bytes)
}

/**
 * Parses the header's Python dict literal. Only the subset numpy writes is accepted: string keys,
 * string / bool / int-tuple values, optional trailing commas.
 */
function parseHeader(text: string): NpyHeader {
  let i = 0
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++
  }
  const expect = (ch: string) => {
    ws()
    if (text[i] !== ch) throw new Error(`expected '${ch}' at ${i}`)
    i++
  }
  const str = (): string => {
    ws()
    const q = text[i]
    if (q !== "'" && q !== '"') throw new Error(`expected a string at ${i}`)
    const end = text.indexOf(q, i + 1)
    if (end < 0) throw new Error('unterminated string')
    const s = text.slice(i + 1, end)
    i = end + 1
    return s
  }
  const value = (): string | boolean | number[] => {
    ws()
    if (text[i] === "'" || text[i] === '"') return str()
    for (const [word, b] of [['True', true], ['False', false]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length
        return b
      }
    }
    if (text[i] === '(') {
      i++
      const dims: number[] = []
      for (;;) {
        ws()
        if (text[i] === ')') break
        const m = /^\d+/.exec(text.slice(i))
        if (!m) throw new Error(`expected a dimension at ${i}`)
        dims.push(Number(m[0]))
        i += m[0].length
        ws()
        if (text[i] === ',') i++
        else if (text[i] !== ')') throw new Error(`expected ',' or ')' at ${i}`)
      }
      i++
      return dims
    }
    throw new Error(`unexpected value at ${i}`)
  }
  const fields = new Map<string, string | boolean | number[]>()
  expect('{')
  for (;;) {
    ws()
    if (text[i] === '}') break
    const key = str()
    expect(':')
    fields.set(key, value())
    ws()
    if (text[i] === ',') i++
    else if (text[i] !== '}') throw new Error(`expected ',' or '}' at ${i}`)
  }
  i++
  ws()
  if (i !== text.length) throw new Error('text after the dict')
  const descr = fields.get('descr')
  const fortranOrder = fields.get('fortran_order')
  const shape = fields.get('shape')
  if (typeof descr !== 'string') throw new Error("no 'descr' string")
  if (typeof fortranOrder !== 'boolean') throw new Error("no 'fortran_order' boolean")
  if (!Array.isArray(shape)) throw new Error("no 'shape' tuple")
  if (!shape.every(Number.isSafeInteger)) throw new Error('shape too large')
  return { descr, fortranOrder, shape }
}
