/**
 * PIL's Image.resize(..., BILINEAR) on 8-bit RGB, which is what torchvision's Resize does to PIL
 * images: a separable triangle filter on half-pixel centres, widened by the scale when shrinking
 * (antialiasing), with PIL's 22-bit fixed-point weights and a rounded 8-bit horizontal pass before
 * the vertical one, so the bytes match PIL's, not just come close.
 */
export function resampleBilinear(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  const horizontal = sw === dw ? src : pass(src, sw, sh, dw, true)
  return sh === dh ? horizontal.slice() : pass(horizontal, dw, sh, dh, false)
}

const PRECISION_BITS = 32 - 8 - 2
const ONE = 2 ** PRECISION_BITS

/** One direction of the resample: along rows (horizontal) or columns, from w x h to the new length. */
function pass(src: Uint8Array, w: number, h: number, outLen: number, horizontal: boolean): Uint8Array {
  const inLen = horizontal ? w : h
  const { bounds, weights, kmax } = coefficients(inLen, outLen)
  const outW = horizontal ? outLen : w
  const outH = horizontal ? h : outLen
  const out = new Uint8Array(outW * outH * 3)
  // Stride between neighbouring taps, in bytes.
  const step = horizontal ? 3 : w * 3
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const o = horizontal ? x : y
      const first = bounds[o * 2]
      const n = bounds[o * 2 + 1]
      const base = horizontal ? (y * w + first) * 3 : (first * w + x) * 3
      for (let c = 0; c < 3; c++) {
        let ss = ONE / 2
        for (let k = 0; k < n; k++) ss += src[base + k * step + c] * weights[o * kmax + k]
        const v = Math.floor(ss / ONE)
        out[(y * outW + x) * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v
      }
    }
  }
  return out
}

/** PIL's precompute_coeffs for the bilinear filter (support 1), with its 8-bit fixed-point rounding. */
function coefficients(inLen: number, outLen: number): { bounds: Int32Array; weights: Float64Array; kmax: number } {
  const scale = inLen / outLen
  const filterScale = Math.max(scale, 1)
  const support = filterScale
  const kmax = Math.ceil(support) * 2 + 1
  const bounds = new Int32Array(outLen * 2)
  const weights = new Float64Array(outLen * kmax)
  const k = new Float64Array(kmax)
  // Multiplying by the reciprocal (not dividing) as PIL does keeps the last bit of each weight the same.
  const inv = 1 / filterScale
  for (let o = 0; o < outLen; o++) {
    const center = (o + 0.5) * scale
    // C's (int) truncates toward zero; both ends are clamped to the image.
    const min = Math.max(Math.trunc(center - support + 0.5), 0)
    const count = Math.min(Math.trunc(center + support + 0.5), inLen) - min
    let total = 0
    for (let i = 0; i < count; i++) {
      const t = Math.abs((i + min - center + 0.5) * inv)
      k[i] = t < 1 ? 1 - t : 0
      total += k[i]
    }
    for (let i = 0; i < count; i++) {
      const wgt = total !== 0 ? k[i] / total : 0
      weights[o * kmax + i] = Math.trunc(wgt * ONE + (wgt < 0 ? -0.5 : 0.5))
    }
    bounds[o * 2] = min
    bounds[o * 2 + 1] = count
  }
  return { bounds, weights, kmax }
}

/**
 * The intermediate size and crop offset of torchvision's Resize + CenterCrop, generalised to a
 * non-square target by scaling so both sides cover it. Sizes truncate (int()) and the offset rounds
 * half to even (Python's round()), as torchvision does, so crops land on the same pixels.
 */
export function coverCrop(
  srcWidth: number,
  srcHeight: number,
  width: number,
  height: number
): { width: number; height: number; left: number; top: number } {
  let rw: number
  let rh: number
  if (height * srcWidth >= width * srcHeight) {
    rh = height
    rw = Math.max(width, Math.floor((height * srcWidth) / srcHeight))
  } else {
    rw = width
    rh = Math.max(height, Math.floor((width * srcHeight) / srcWidth))
  }
  return { width: rw, height: rh, left: roundHalfEven((rw - width) / 2), top: roundHalfEven((rh - height) / 2) }
}

function roundHalfEven(x: number): number {
  const r = Math.round(x)
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
}
