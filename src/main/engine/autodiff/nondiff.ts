/**
 * Ops that compute only on shapes, indices, masks or element types: no gradient flows through them,
 * so the walker skips them (their outputs never depend on a differentiated tensor). Rounding ops are
 * here too: their derivative is zero almost everywhere. Integer outputs of differentiable ops (MaxPool's
 * indices, TopK's indices) need no entry: the walker only follows floating-point tensors.
 */
export const NON_DIFFERENTIABLE: ReadonlySet<string> = new Set([
  'Shape',
  'Size',
  'ArgMax',
  'ArgMin',
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'IsNaN',
  'IsInf',
  'NonZero',
  'OneHot',
  'Cast',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'ConstantOfShape',
  'Range',
  'TopK'
])
