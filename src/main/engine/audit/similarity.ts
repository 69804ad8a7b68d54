/** Ranks (1-based) with ties given their average rank, as scipy.stats.rankdata. */
export function rankData(v: ArrayLike<number>): Float64Array {
  const n = v.length
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => v[a] - v[b] || a - b)
  const ranks = new Float64Array(n)
  for (let i = 0; i < n; ) {
    let j = i
    while (j + 1 < n && v[idx[j + 1]] === v[idx[i]]) j++
    const r = (i + j) / 2 + 1
    for (let k = i; k <= j; k++) ranks[idx[k]] = r
    i = j + 1
  }
  return ranks
}

/** Pearson correlation; 0 when either side is constant (no ordering to agree with). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length
  let ma = 0
  let mb = 0
  for (let i = 0; i < n; i++) {
    ma += a[i]
    mb += b[i]
  }
  ma /= n
  mb /= n
  let sab = 0
  let saa = 0
  let sbb = 0
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma
    const db = b[i] - mb
    sab += da * db
    saa += da * da
    sbb += db * db
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0
}

/** Spearman's rank correlation: Pearson on average ranks. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(rankData(a), rankData(b))
}

/**
 * Mean structural similarity of two H x W maps, as skimage.metrics.structural_similarity computes it
 * by default: 7 x 7 uniform windows, K1 = 0.01, K2 = 0.03, sample covariances (N / (N - 1)), averaged
 * over the windows that fit inside the image (skimage crops the border of 3 pixels).
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, H: number, W: number, dataRange = 1, win = 7): number {
  const half = (win - 1) >> 1
  const np = win * win
  const covNorm = np / (np - 1)
  const c1 = (0.01 * dataRange) ** 2
  const c2 = (0.03 * dataRange) ** 2
  let total = 0
  let count = 0
  for (let y = half; y < H - half; y++) {
    for (let x = half; x < W - half; x++) {
      let sa = 0
      let sb = 0
      let saa = 0
      let sbb = 0
      let sab = 0
      for (let dy = -half; dy <= half; dy++) {
        for (let dx = -half; dx <= half; dx++) {
          const p = (y + dy) * W + x + dx
          const va = a[p]
          const vb = b[p]
          sa += va
          sb += vb
          saa += va * va
          sbb += vb * vb
          sab += va * vb
        }
      }
      const ua = sa / np
      const ub = sb / np
      const va = covNorm * (saa / np - ua * ua)
      const vb = covNorm * (sbb / np - ub * ub)
      const vab = covNorm * (sab / np - ua * ub)
      total += ((2 * ua * ub + c1) * (2 * vab + c2)) / ((ua * ua + ub * ub + c1) * (va + vb + c2))
      count++
    }
  }
  return count ? total / count : 0
}
