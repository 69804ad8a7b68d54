import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { ApiError } from '../../../../shared/errors'
import { fileError } from '../../errors'

/** uint8 images [count, height, width], row-major, as stored in an idx3-ubyte file. */
export interface IdxImages {
  count: number
  height: number
  width: number
  pixels: Uint8Array
}

/** idx magic: two zero bytes, a type code (0x08 = unsigned byte), then the number of dimensions. */
const UBYTE = 0x08
/** Fashion-MNIST's training images file is 47 MB unpacked; anything far larger is not an idx dataset. */
const MAX_UNPACKED = 1 << 30

/** Parses idx bytes (gzip'd or raw) holding uint8 data with `ndim` dimensions; `file` names it in errors. */
export function parseIdx(bytes: Uint8Array, file: string, ndim: number): { dims: number[]; data: Uint8Array } {
  const name = basename(file)
  const bad = (why: string) => new ApiError('bad-file', `${name} is not a valid idx file: ${why}.`, file)
  let raw = bytes
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      raw = gunzipSync(bytes, { maxOutputLength: MAX_UNPACKED })
    } catch (err) {
      throw new ApiError('bad-file', `${name} is a damaged gzip file: ${(err as Error).message}.`, file)
    }
  }
  if (raw.length < 4) throw bad(`it is ${raw.length} bytes long, too short for the 4-byte header`)
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  const magic = view.getUint32(0)
  const expected = (UBYTE << 8) | ndim
  if (magic !== expected) {
    const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`
    const what = ndim === 3 ? 'images (idx3-ubyte)' : ndim === 1 ? 'labels (idx1-ubyte)' : `${ndim}-d ubyte data`
    throw bad(`the magic number is ${hex(magic)}, expected ${hex(expected)} for ${what}`)
  }
  const header = 4 + 4 * ndim
  if (raw.length < header) throw bad(`the header needs ${header} bytes, the file has ${raw.length}`)
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i))
  const size = dims.reduce((a, b) => a * b, 1)
  if (dims.slice(1).some((d) => d === 0)) throw bad(`a dimension is 0 (${dims.join(' x ')})`)
  const body = raw.length - header
  if (body < size) throw bad(`it is truncated: ${dims.join(' x ')} needs ${size} data bytes, found ${body}`)
  if (body > size) throw bad(`${body - size} bytes follow the ${dims.join(' x ')} data`)
  return { dims, data: raw.subarray(header) }
}

async function readBytes(path: string, what: string): Promise<Uint8Array> {
  return readFile(path).catch((err: NodeJS.ErrnoException) => {
    throw fileError(err, path, what)
  })
}

export async function readIdxImages(path: string): Promise<IdxImages> {
  const { dims, data } = parseIdx(await readBytes(path, 'idx images'), path, 3)
  return { count: dims[0], height: dims[1], width: dims[2], pixels: data }
}

export async function readIdxLabels(path: string): Promise<Uint8Array> {
  return parseIdx(await readBytes(path, 'idx labels'), path, 1).data
}

/** Images and their labels from two idx files, checked to hold the same number of items. */
export async function readIdxPair(imagesPath: string, labelsPath: string): Promise<{ images: IdxImages; labels: Uint8Array }> {
  const [images, labels] = await Promise.all([readIdxImages(imagesPath), readIdxLabels(labelsPath)])
  if (labels.length !== images.count) {
    throw new ApiError(
      'bad-file',
      `${basename(labelsPath)} holds ${labels.length} labels but ${basename(imagesPath)} holds ${images.count} images; they must match.`,
      labelsPath
    )
  }
  return { images, labels }
}

export const FASHION_MNIST_LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']

/** Where Debian's dataset-fashion-mnist package puts the files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist'
export const FASHION_MNIST_ENV = 'METASCOPE_FASHION_MNIST_DIR'
export const FASHION_MNIST_IMAGES = 'train-images-idx3-ubyte.gz'
export const FASHION_MNIST_LABELS_FILE = 'train-labels-idx1-ubyte.gz'

export interface FashionMnistFiles {
  dir: string
  images: string
  labels: string
}

/**
 * Finds Fashion-MNIST's training files (METASCOPE_FASHION_MNIST_DIR, else the Debian package's
 * folder). `files` is null when they are missing, and `reason` then says what to install, so callers
 * can report it rather than fail on a bare ENOENT.
 */
export function fashionMnist(env: NodeJS.ProcessEnv = process.env): { files: FashionMnistFiles; reason?: undefined } | { files: null; reason: string } {
  const override = env[FASHION_MNIST_ENV]
  const dir = override || FASHION_MNIST_DIR
  // Unpacked copies (e.g. downloaded and gunzipped by hand) are accepted in an override folder too.
  const find = (file: string) => [join(dir, file), join(dir, file.replace(/\.gz$/, ''))].find((p) => existsSync(p))
  const images = find(FASHION_MNIST_IMAGES)
  const labels = find(FASHION_MNIST_LABELS_FILE)
  if (images && labels) return { files: { dir, images, labels } }
  const missing = [images ? null : FASHION_MNIST_IMAGES, labels ? null : FASHION_MNIST_LABELS_FILE].filter(Boolean).join(' and ')
  const install = `install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or set ${FASHION_MNIST_ENV} to a folder holding ${FASHION_MNIST_IMAGES} and ${FASHION_MNIST_LABELS_FILE}`
  const where = override ? `the folder ${override} (from ${FASHION_MNIST_ENV})` : dir
  return { files: null, reason: `Fashion-MNIST is not available: ${where} has no ${missing}. To use it, ${install}.` }
}
