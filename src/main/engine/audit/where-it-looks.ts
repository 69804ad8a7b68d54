import type { WhereSummary } from '../../../shared/audit'
import { mulberry32 } from './pixels'

/** Side of the stored small maps: enough to show a corner watermark, small enough for a million images. */
export const SMALL = 16

/** Area-mean downsampling of an H x W map to SMALL x SMALL, quantised to bytes (exact integer sums when averaged). */
export function smallMap(map: Float32Array, H: number, W: number): Uint8Array {
  const out = new Uint8Array(SMALL * SMALL)
  for (let i = 0; i < SMALL; i++) {
    const y0 = Math.floor((i * H) / SMALL)
    const y1 = Math.max(y0 + 1, Math.floor(((i + 1) * H) / SMALL))
    for (let j = 0; j < SMALL; j++) {
      const x0 = Math.floor((j * W) / SMALL)
      const x1 = Math.max(x0 + 1, Math.floor(((j + 1) * W) / SMALL))
      let s = 0
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s += map[y * W + x]
      const v = s / ((y1 - y0) * (x1 - x0))
      out[i * SMALL + j] = Math.round(Math.min(1, Math.max(0, v)) * 255)
    }
  }
  return out
}

export const encodeSmall = (m: Uint8Array) => Buffer.from(m).toString('base64')
export const decodeSmall = (s: string) => new Uint8Array(Buffer.from(s, 'base64'))

/**
 * Shares of the map's mass on the border band (the outer tenth of each side, at least one pixel) and
 * outside the central region (the middle half of each side): a map that lives on the border or away
 * from the object hints at a background or watermark shortcut. 0 for an empty map.
 */
export function massShares(map: Float32Array, H: number, W: number): { border: number; offCentre: number } {
  const bh = Math.max(1, Math.floor(H / 10))
  const bw = Math.max(1, Math.floor(W / 10))
  const [cy0, cy1, cx0, cx1] = [Math.floor(H / 4), Math.ceil((3 * H) / 4), Math.floor(W / 4), Math.ceil((3 * W) / 4)]
  let total = 0
  let border = 0
  let centre = 0
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = Math.max(0, map[y * W + x])
      total += v
      if (y < bh || y >= H - bh || x < bw || x >= W - bw) border += v
      if (y >= cy0 && y < cy1 && x >= cx0 && x < cx1) centre += v
    }
  }
  return total > 0 ? { border: border / total, offCentre: 1 - centre / total } : { border: 0, offCentre: 0 }
}

/**
 * Pointing game (Zhang et al. 2016, without the 15 px tolerance) and energy-in-box (Score-CAM's
 * localisation measure): is the map's maximum inside the box, and what share of its mass is. The box
 * is [x0, y0, x1, y1] in [0, 1] coordinates of the image as the model sees it.
 */
export function boxScores(map: Float32Array, H: number, W: number, box: [number, number, number, number]): { pointing: boolean; energyInBox: number } {
  const [x0, y0, x1, y1] = [box[0] * W, box[1] * H, box[2] * W, box[3] * H]
  let best = -Infinity
  let bestInside = false
  let total = 0
  let inside = 0
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = Math.max(0, map[y * W + x])
      const isIn = x + 0.5 >= x0 && x + 0.5 <= x1 && y + 0.5 >= y0 && y + 0.5 <= y1
      total += v
      if (isIn) inside += v
      if (v > best) {
        best = v
        bestInside = isIn
      }
    }
  }
  return { pointing: bestInside, energyInBox: total > 0 ? inside / total : 0 }
}

export interface SmallItem {
  path: string
  label: number | null
  predicted: number
  small: string
}

/** Per class: the mean small map (from byte sums, exact whatever the order) and the mean mass shares. */
export function classLooks(
  items: (SmallItem & { border: number; offCentre: number })[],
  groupBy: 'label' | 'predicted',
  labels: string[]
): WhereSummary['classes'] {
  const sums = labels.map(() => ({ count: 0, map: new Float64Array(SMALL * SMALL), border: 0, offCentre: 0 }))
  for (const it of items) {
    const c = groupBy === 'label' ? it.label : it.predicted
    if (c === null || c < 0 || c >= labels.length) continue
    const s = sums[c]
    s.count++
    const m = decodeSmall(it.small)
    for (let i = 0; i < m.length; i++) s.map[i] += m[i]
    s.border += it.border
    s.offCentre += it.offCentre
  }
  return sums.flatMap((s, index) =>
    s.count
      ? [{ index, label: labels[index], count: s.count, mean: Array.from(s.map, (v) => v / s.count / 255), border: s.border / s.count, offCentre: s.offCentre / s.count }]
      : []
  )
}

/**
 * k-means (Lloyd, k-means++ start from a seeded generator, 25 iterations) over the small maps in path
 * order, so the same images give the same groups in a sharded and an unsharded run. Groups come
 * largest first, members closest to their centre first (12 at most).
 */
export function clusterMaps(items: SmallItem[], k: number, seed: number): WhereSummary['clusters'] {
  const n = items.length
  if (!n) return []
  const d = SMALL * SMALL
  const data = items.map((it) => Float64Array.from(decodeSmall(it.small), (v) => v / 255))
  const dist = (a: Float64Array, b: Float64Array) => {
    let s = 0
    for (let i = 0; i < d; i++) s += (a[i] - b[i]) ** 2
    return s
  }
  const rand = mulberry32(seed ^ 0x5eed)
  const kk = Math.min(k, n)
  const centres: Float64Array[] = [data[Math.floor(rand() * n)].slice()]
  const nearest = data.map((x) => dist(x, centres[0]))
  while (centres.length < kk) {
    const total = nearest.reduce((a, b) => a + b, 0)
    // k-means++: the next centre is drawn with probability proportional to the squared distance;
    // when every point sits on a centre already, take the next point in order.
    let pick = centres.length
    if (total > 0) {
      let r = rand() * total
      for (pick = 0; pick < n - 1; pick++) {
        r -= nearest[pick]
        if (r <= 0) break
      }
    }
    centres.push(data[pick].slice())
    data.forEach((x, i) => (nearest[i] = Math.min(nearest[i], dist(x, centres[centres.length - 1]))))
  }
  const assign = new Int32Array(n)
  for (let it = 0; it < 25; it++) {
    let moved = false
    data.forEach((x, i) => {
      let best = 0
      let bd = Infinity
      centres.forEach((c, j) => {
        const dd = dist(x, c)
        if (dd < bd) {
          bd = dd
          best = j
        }
      })
      if (assign[i] !== best) moved = true
      assign[i] = best
    })
    const sums = centres.map(() => new Float64Array(d))
    const counts = new Array<number>(kk).fill(0)
    data.forEach((x, i) => {
      counts[assign[i]]++
      for (let q = 0; q < d; q++) sums[assign[i]][q] += x[q]
    })
    sums.forEach((s, j) => {
      if (counts[j]) centres[j] = s.map((v) => v / counts[j])
    })
    if (!moved && it > 0) break // stable assignment: converged
  }
  const groups = centres.map((c, j) => {
    const members = data.map((x, i) => ({ i, dd: dist(x, c) })).filter((m) => assign[m.i] === j)
    members.sort((a, b) => a.dd - b.dd || a.i - b.i)
    const mean = Array.from(c)
    const border = massShares(Float32Array.from(mean), SMALL, SMALL).border
    return {
      size: members.length,
      centroid: mean,
      border,
      members: members.slice(0, 12).map((m) => ({ path: items[m.i].path, label: items[m.i].label, predicted: items[m.i].predicted, small: items[m.i].small }))
    }
  })
  return groups.filter((g) => g.size > 0).sort((a, b) => b.size - a.size || (a.members[0].path < b.members[0].path ? -1 : 1))
}
