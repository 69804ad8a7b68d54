import { ApiError } from './errors'

export const COLORMAP_NAMES = ['jet', 'turbo', 'viridis', 'inferno'] as const

export type ColormapName = (typeof COLORMAP_NAMES)[number]

/**
 * The diverging map signed attributions are shown with (not a choice in the colormap picker, whose maps
 * run from low to high): ColorBrewer's RdBu reversed, as matplotlib's RdBu_r, blue below zero, white at
 * zero, red above. Value 0.5 is zero.
 */
export const DIVERGING_COLORMAP = 'rdbu'
export type DisplayColormap = ColormapName | typeof DIVERGING_COLORMAP

/**
 * The tables are generated here from their published definitions rather than taken from a library,
 * so the engine needs neither OpenCV nor matplotlib and the colours are the ones people compare with.
 */

const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x)

/**
 * OpenCV's COLORMAP_JET is GNU Octave's jet sampled at 256 points: three piecewise-linear ramps,
 * dark blue (0, 0, 0.5) through cyan, yellow to dark red (0.5, 0, 0).
 */
function jet(x: number): [number, number, number] {
  return [clamp01(1.5 - Math.abs(4 * x - 3)), clamp01(1.5 - Math.abs(4 * x - 2)), clamp01(1.5 - Math.abs(4 * x - 1))]
}

/**
 * Every fifth entry (0, 5, ..., 255) of the published 256-entry tables: matplotlib's viridis and
 * inferno (van der Walt and Smith, CC0) and Google's Turbo (Mikhailov, Apache-2.0, the table OpenCV's
 * COLORMAP_TURBO uses). Linear interpolation between them reproduces the full tables to within one
 * level per channel. (Google's polynomial fit of Turbo was tried and is up to 32 levels off at the ends.)
 */
const ANCHOR_STEP = 5
const VIRIDIS_ANCHORS = `
  440154 46085c 471063 481769 481d6f 482475 472a7a 46307e 453781 433d84 414287 3f4889 3d4e8a
  3a538b 38598c 355e8d 33638d 31688e 2e6d8e 2c718e 2a768e 297b8e 27808e 25848e 23898e 218e8d
  20928c 1f978b 1e9c89 1fa188 21a585 24aa83 28ae80 2eb37c 35b779 3dbc74 46c06f 50c46a 5ac864
  65cb5e 70cf57 7cd250 89d548 95d840 a2da37 b0dd2f bddf26 cae11f d8e219 e5e419 f1e51d fde725`
const TURBO_ANCHORS = `
  30123b 36215f 3b2f80 3f3e9c 424bb5 4559cb 4666dd 4773eb 4680f6 458cfd 4099ff 38a5fb 2fb2f4
  27bee9 1fc9dd 1ad4d0 18ddc2 1ae4b6 22ebaa 2ff19b 3ff68a 52fa7a 65fd69 79fe59 8bff4b 9cfe40
  a9fb39 b7f735 c3f134 d0ea34 dbe236 e5d938 eecf3a f5c53a faba39 fdae35 fea130 fe932a fc8423
  f9751d f46617 ef5811 e84b0c e14109 d83706 ce2d04 c32503 b71d02 a91601 9b0f01 8b0902 7a0403`
const INFERNO_ANCHORS = `
  000004 02020c 050417 0a0722 10092d 160b39 1e0c45 260c51 2f0a5b 380962 400a67 490b6a 510e6c
  59106e 61136e 69166e 71196e 781c6d 801f6c 88226a 902568 982766 a02a63 a82e5f b0315b b73557
  bf3952 c63d4d cc4248 d34743 d94d3d df5337 e45a31 e9612b ed6925 f1711f f47918 f78212 f98b0b
  fa9407 fb9d07 fca60c fcb014 fbba1f fac42a f8cd37 f6d746 f4e156 f2ea69 f2f27d f5f992 fcffa4`

/** ColorBrewer RdBu's 11 classes (Brewer, Apache-2.0), from its blue end: matplotlib's RdBu_r stops. */
const RDBU_R_STOPS = '053061 2166ac 4393c3 92c5de d1e5f0 f7f7f7 fddbc7 f4a582 d6604d b2182b 67001f'

/** Evenly spaced stops interpolated linearly at i / 255, as matplotlib's LinearSegmentedColormap (N = 256) does. */
function fromStops(hex: string): Uint8Array {
  const stops = hex.split(' ').map((h) => [0, 2, 4].map((o) => parseInt(h.slice(o, o + 2), 16) / 255))
  const lut = new Uint8Array(256 * 3)
  const segments = stops.length - 1
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * segments
    const k = Math.min(Math.floor(x), segments - 1)
    const t = x - k
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(255 * (stops[k][c] + (stops[k + 1][c] - stops[k][c]) * t))
  }
  return lut
}

function fromAnchors(hex: string): Uint8Array {
  const anchors = hex
    .trim()
    .split(/\s+/)
    .map((h) => [0, 2, 4].map((o) => parseInt(h.slice(o, o + 2), 16)))
  const lut = new Uint8Array(256 * 3)
  for (let i = 0; i < 256; i++) {
    const k = Math.min(Math.floor(i / ANCHOR_STEP), anchors.length - 2)
    const t = (i - k * ANCHOR_STEP) / ANCHOR_STEP
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(anchors[k][c] + (anchors[k + 1][c] - anchors[k][c]) * t)
  }
  return lut
}

function fromFunction(f: (x: number) => [number, number, number]): Uint8Array {
  const lut = new Uint8Array(256 * 3)
  for (let i = 0; i < 256; i++) {
    const rgb = f(i / 255)
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(rgb[c] * 255)
  }
  return lut
}

const BUILDERS: Record<DisplayColormap, () => Uint8Array> = {
  rdbu: () => fromStops(RDBU_R_STOPS),
  jet: () => fromFunction(jet),
  turbo: () => fromAnchors(TURBO_ANCHORS),
  viridis: () => fromAnchors(VIRIDIS_ANCHORS),
  inferno: () => fromAnchors(INFERNO_ANCHORS)
}

const cache = new Map<DisplayColormap, Uint8Array>()

function table(name: DisplayColormap): Uint8Array {
  let lut = cache.get(name)
  if (!lut) {
    const build = BUILDERS[name] as (() => Uint8Array) | undefined
    if (!build) throw new ApiError('invalid-arguments', `Unknown colormap '${name}'; expected one of ${COLORMAP_NAMES.join(', ')}.`)
    lut = build()
    cache.set(name, lut)
  }
  return lut
}

/** The 256-entry RGB lookup table (256 * 3 bytes, entry i for value i / 255). A copy: callers may change it. */
export function colormap(name: DisplayColormap): Uint8Array {
  return table(name).slice()
}

/**
 * Colours a map of values in [0,1]; out-of-range values are clamped and NaN counts as 0. The value
 * picks entry floor(255 * v), as pytorch-grad-cam's np.uint8(255 * mask) does before applyColorMap,
 * so the same map gives the same colours.
 */
export function applyColormap(map: Float32Array, name: DisplayColormap): Uint8Array {
  const lut = table(name)
  const out = new Uint8Array(map.length * 3)
  for (let i = 0; i < map.length; i++) {
    const v = map[i]
    // numpy multiplies in float32, but for a float32 v the float32 product never floors
    // differently from the exact one (checked for every float32 in [0, 1)), so no fround.
    const idx = v > 0 ? (v >= 1 ? 255 : Math.floor(v * 255)) : 0 // NaN fails v > 0
    out[i * 3] = lut[idx * 3]
    out[i * 3 + 1] = lut[idx * 3 + 1]
    out[i * 3 + 2] = lut[idx * 3 + 2]
  }
  return out
}
