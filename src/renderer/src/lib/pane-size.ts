/** The display size of a w x h picture fitted into a side x side box, its aspect ratio kept. */
export function paneSize(w: number, h: number, side: number): [number, number] {
  if (!(w > 0 && h > 0)) return [side, side]
  return w >= h ? [side, Math.max(1, Math.round((side * h) / w))] : [Math.max(1, Math.round((side * w) / h)), side]
}
