// Bilinear resize is pure math shared with the renderer (shared-scale maps are resized there).
export * from '../../../shared/resize'
