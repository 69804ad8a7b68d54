// The colormap tables are pure data shared with the renderer (which recolours maps instantly).
export * from '../../../shared/colormap'
