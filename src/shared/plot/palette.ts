/**
 * Series colours. The report draws with these inline (it has no stylesheet to theme); the app's
 * stylesheets colour the same number of `series-N` classes from its theme, so series i gets slot
 * i mod 8 either way.
 */
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf']

export const seriesColour = (i: number) => PALETTE[i % PALETTE.length]

export const seriesClass = (i: number) => `series-${i % PALETTE.length}`
