import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import sharp from 'sharp'
// Installs the raster-only decoder rule (no SVG, PDF, ...) for every image this module reads.
import './raster'
import { clampThumbSize } from '../../../shared/client'
import { ApiError } from '../../../shared/errors'
import { fileError } from '../errors'
import { MAX_IMAGE_PIXELS } from './images'

const THUMB_QUALITY = 80

/**
 * A least-recently-used cache bounded by the total bytes it holds. A Map iterates in insertion order,
 * so re-inserting on every hit keeps the oldest entry first.
 */
export class ByteLruCache {
  private readonly map = new Map<string, Uint8Array>()
  private total = 0

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.total
  }

  get size(): number {
    return this.map.size
  }

  get(key: string): Uint8Array | undefined {
    const value = this.map.get(key)
    if (value) {
      this.map.delete(key)
      this.map.set(key, value)
    }
    return value
  }

  set(key: string, value: Uint8Array): void {
    const old = this.map.get(key)
    if (old) {
      this.total -= old.byteLength
      this.map.delete(key)
    }
    if (value.byteLength > this.maxBytes) return
    this.map.set(key, value)
    this.total += value.byteLength
    for (const [k, v] of this.map) {
      if (this.total <= this.maxBytes) break
      this.map.delete(k)
      this.total -= v.byteLength
    }
  }

  clear(): void {
    this.map.clear()
    this.total = 0
  }
}

/** Shared by every caller in this (engine) process: a scrolled grid asks for the same thumbnails again. */
export const thumbnailCache = new ByteLruCache(64 * 1024 * 1024)
/** Concurrent requests for the same thumbnail share one decode. */
const inFlight = new Map<string, Promise<Uint8Array>>()

/**
 * A small preview of the image at `path`: EXIF rotation applied, fit inside size x size (never
 * enlarged), WebP (THUMB_MIME) at quality 80. Cached by path + size + modification time, so an edited file gets a
 * fresh thumbnail. Throws ApiError (not-found / bad-file) for a missing or unreadable image.
 */
export async function makeThumbnail(path: string, size: number): Promise<Uint8Array> {
  const edge = clampThumbSize(size)
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw fileError(err, path, 'image')
  })
  if (!info.isFile()) throw new ApiError('bad-file', `${basename(path)} is not a file.`, path)
  const key = `${path}\0${edge}\0${info.mtimeMs}\0${info.size}`
  const cached = thumbnailCache.get(key)
  if (cached) return cached
  const pending = inFlight.get(key)
  if (pending) return pending
  const job = render(path, edge)
    .then((bytes) => {
      thumbnailCache.set(key, bytes)
      return bytes
    })
    .finally(() => inFlight.delete(key))
  inFlight.set(key, job)
  return job
}

/**
 * At most this many decodes at once: sharp runs on libuv's small thread pool, which file reads share,
 * so a grid scrolling past hundreds of images must not starve a running CAM job of fs threads.
 */
const MAX_CONCURRENT = 3
let running = 0
const waiting: (() => void)[] = []

async function render(path: string, edge: number): Promise<Uint8Array> {
  // A finishing decode hands its slot straight to the next waiter, so `running` never overshoots.
  if (running < MAX_CONCURRENT) running++
  else await new Promise<void>((r) => waiting.push(r))
  try {
    return await encode(path, edge)
  } finally {
    const next = waiting.shift()
    if (next) next()
    else running--
  }
}

async function encode(path: string, edge: number): Promise<Uint8Array> {
  try {
    const buf = await sharp(path, { limitInputPixels: MAX_IMAGE_PIXELS })
      .rotate()
      .resize(edge, edge, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: THUMB_QUALITY })
      .toBuffer()
    // A plain, exactly-sized copy: it crosses the process boundary by structured clone.
    return new Uint8Array(buf)
  } catch (err) {
    throw new ApiError('bad-file', `${basename(path)} is not a readable image: ${(err as Error).message}`, path)
  }
}
