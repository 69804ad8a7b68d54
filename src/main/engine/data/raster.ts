import sharp, { type Metadata } from 'sharp'

/**
 * The only image formats Metascope reads from user files, with the type each is served as. Everything
 * else libvips could open is refused before decoding: SVG is a document that can hold scripts and
 * reference other files, PDF likewise, and libvips' own .v format maps memory as it says.
 */
export const RASTER_TYPES = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  avif: 'image/avif'
} as const
export type RasterFormat = keyof typeof RASTER_TYPES

/** For messages: "PNG, JPEG, WebP, GIF, TIFF or AVIF". */
export const RASTER_NAMES = 'PNG, JPEG, WebP, GIF, TIFF or AVIF'

// Process-wide: every libvips loader is blocked, then the raster ones are allowed again (a blocked
// class blocks its File/Buffer/Source subclasses). Our own PNG encodes and raw buffers use no loader.
sharp.block({ operation: ['VipsForeignLoad'] })
sharp.unblock({ operation: ['VipsForeignLoadJpeg', 'VipsForeignLoadPng', 'VipsForeignLoadWebp', 'VipsForeignLoadNsgif', 'VipsForeignLoadTiff', 'VipsForeignLoadHeif'] })

/** The raster format sharp decoded, or null for anything else (HEIF counts only as AVIF: AV1 inside). */
export function rasterFormat(meta: Pick<Metadata, 'format' | 'compression'>): RasterFormat | null {
  if (meta.format === 'heif') return meta.compression === 'av1' ? 'avif' : null
  return meta.format && Object.prototype.hasOwnProperty.call(RASTER_TYPES, meta.format) ? (meta.format as RasterFormat) : null
}

/** The MIME type of a format an image entry records; null when it is not one Metascope serves. */
export function rasterType(format: string): string | null {
  return Object.prototype.hasOwnProperty.call(RASTER_TYPES, format) ? RASTER_TYPES[format as RasterFormat] : null
}
