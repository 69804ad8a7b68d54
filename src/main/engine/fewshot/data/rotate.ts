/**
 * numpy.rot90(img, r) on each HxW plane of a CHW image: r quarter turns counter-clockwise (any
 * integer, taken mod 4). Odd turns swap height and width. The reference implementation rotates with
 * numpy, so the index maps below are numpy's, checked by hand on a 2x3 example in the tests.
 */
export function rot90<T extends Uint8Array | Float32Array>(
  src: T,
  height: number,
  width: number,
  r: number,
  channels = 1
): { data: T; height: number; width: number } {
  const turns = ((r % 4) + 4) % 4
  const plane = height * width
  if (src.length !== plane * channels) throw new RangeError(`rot90: ${src.length} values is not ${channels} x ${height} x ${width}`)
  if (turns === 0) return { data: src.slice() as T, height, width }
  const [oh, ow] = turns === 2 ? [height, width] : [width, height]
  const out = new (src.constructor as { new (n: number): T })(src.length)
  for (let c = 0; c < channels; c++) {
    const base = c * plane
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        // Source (row, column) of output (i, j).
        let y: number
        let x: number
        if (turns === 1) [y, x] = [j, width - 1 - i]
        else if (turns === 2) [y, x] = [height - 1 - i, width - 1 - j]
        else [y, x] = [height - 1 - j, i]
        out[base + i * ow + j] = src[base + y * width + x]
      }
    }
  }
  return { data: out, height: oh, width: ow }
}
