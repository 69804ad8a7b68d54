import type { Scale } from './scale'

/** One tick: its value, where it sits along its axis, its label; `anchor` and `title` for irregular axes. */
export interface Tick {
  value: number
  at: number
  label: string
  anchor?: 'start' | 'middle' | 'end'
  title?: string
}

/** Evenly spaced tick values from lo to hi (inclusive), `count` of them. */
export function ticks(lo: number, hi: number, count = 3): number[] {
  if (count < 2) return [lo]
  return Array.from({ length: count }, (_, i) => lo + ((hi - lo) * i) / (count - 1))
}

/** Ticks at `values`, placed by `scale` and labelled by `label`. */
export const axisTicks = (values: number[], scale: Scale, label: (v: number) => string): Tick[] => values.map((value) => ({ value, at: scale(value), label: label(value) }))

/** `digits` decimals, always (probability axes: 0.00, 0.50, 1.00). */
export const fixedLabel = (digits: number) => (v: number) => v.toFixed(digits)

/** At most `digits` decimals, trailing zeros dropped (0, 0.5, 100). */
export const trimmedLabel = (digits: number) => (v: number) => String(+v.toFixed(digits))

/** Whole numbers (and anything from 10 up) without decimals, else two decimals less a trailing zero (0.25, 0.5). */
export const compactLabel = (v: number) => (Number.isInteger(v) || Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(2).replace(/0$/, ''))

/** Three significant digits, whole numbers (and anything from 100 up) rounded: for values that stream in (losses). */
export const precisionLabel = (v: number) => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toPrecision(3))
