/**
 * The plotting kit shared by the app's Vue plots and the engine's HTML report: scales, ticks, plot
 * areas, polyline points, reliability bars and series colours. Geometry only (no DOM, no Vue, no
 * Node), so each side renders it its own way: Vue templates in the renderer, SVG strings in the report.
 */
export * from './scale'
export * from './ticks'
export * from './points'
export * from './reliability'
export * from './palette'
