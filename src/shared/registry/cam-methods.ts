/**
 * The CAM methods: one line each. The API's enums, the CLI's flags and help, the UI's pickers and
 * labels, the report and the CSVs all read this list; the engine keeps one module per id
 * (src/main/engine/cam/methods/), and TypeScript holds the two to the same ids. A method's name is a
 * proper name, the same in every language; its description is an i18n string (`camMethod.<id>`).
 */
export const CAM_METHOD_CATALOGUE = [
  { id: 'gradcam', name: 'Grad-CAM', slug: 'gradcam', needs: 'gradients', group: 'cam', signed: false, params: [] },
  { id: 'gradcam++', name: 'Grad-CAM++', slug: 'gradcampp', needs: 'gradients', group: 'cam', signed: false, params: [] },
  { id: 'xgradcam', name: 'XGrad-CAM', slug: 'xgradcam', needs: 'gradients', group: 'cam', signed: false, params: [] },
  { id: 'hirescam', name: 'HiRes-CAM', slug: 'hirescam', needs: 'gradients', group: 'cam', signed: false, params: [] },
  { id: 'layercam', name: 'LayerCAM', slug: 'layercam', needs: 'gradients', group: 'cam', signed: false, params: [] },
  { id: 'eigencam', name: 'Eigen-CAM', slug: 'eigencam', needs: 'activations', group: 'cam', signed: false, params: [] },
  { id: 'scorecam', name: 'Score-CAM', slug: 'scorecam', needs: 'activations', group: 'cam', signed: false, params: [] },
  { id: 'gradcamelementwise', name: 'Element-wise Grad-CAM', slug: 'gradcamelementwise', needs: 'gradients', group: 'cam', signed: false, params: [] },
  { id: 'eigengradcam', name: 'EigenGrad-CAM', slug: 'eigengradcam', needs: 'gradients', group: 'cam', signed: false, params: [] },
  { id: 'ablationcam', name: 'Ablation-CAM', slug: 'ablationcam', needs: 'activations', group: 'cam', signed: false, params: [] },
  { id: 'kpcacam', name: 'KPCA-CAM', slug: 'kpcacam', needs: 'activations', group: 'cam', signed: false, params: [] },
  { id: 'finercam', name: 'FinerCAM', slug: 'finercam', needs: 'gradients', group: 'cam', signed: false, params: [] },
  { id: 'fullgrad', name: 'FullGrad', slug: 'fullgrad', needs: 'gradients', group: 'cam', signed: false, params: [] },
  // Pixel attributions: maps at the input's resolution, from gradients with respect to the input itself.
  { id: 'saliency', name: 'Saliency', slug: 'saliency', needs: 'input-gradients', group: 'gradient', signed: false, params: [] },
  { id: 'inputxgradient', name: 'Input × Gradient', slug: 'inputxgradient', needs: 'input-gradients', group: 'gradient', signed: true, params: [] },
  { id: 'integratedgradients', name: 'Integrated Gradients', slug: 'integratedgradients', needs: 'input-gradients', group: 'gradient', signed: true, params: ['steps', 'integration', 'baseline', 'baselineImage', 'seed'] },
  { id: 'smoothgrad', name: 'SmoothGrad', slug: 'smoothgrad', needs: 'input-gradients', group: 'gradient', signed: false, params: ['samples', 'noise', 'seed'] },
  { id: 'smoothgrad-sq', name: 'SmoothGrad²', slug: 'smoothgradsq', needs: 'input-gradients', group: 'gradient', signed: false, params: ['samples', 'noise', 'seed'] },
  { id: 'vargrad', name: 'VarGrad', slug: 'vargrad', needs: 'input-gradients', group: 'gradient', signed: false, params: ['samples', 'noise', 'seed'] },
  // Modified backward passes (Relu's rule overridden): signed, as Captum returns them.
  { id: 'guidedbackprop', name: 'Guided Backprop', slug: 'guidedbackprop', needs: 'input-gradients', group: 'gradient', signed: true, params: [] },
  { id: 'deconvnet', name: 'Deconvnet', slug: 'deconvnet', needs: 'input-gradients', group: 'gradient', signed: true, params: [] },
  // Guided Backprop times the layer's Grad-CAM: the one pixel attribution that reads the layer.
  { id: 'guidedgradcam', name: 'Guided Grad-CAM', slug: 'guidedgradcam', needs: 'layer-and-input-gradients', group: 'gradient', signed: true, params: [] },
  // Perturbation attributions: maps at the input's resolution from the class score of changed copies of the image (forward passes only).
  { id: 'occlusion', name: 'Occlusion', slug: 'occlusion', needs: 'forward-scores', group: 'perturbation', signed: true, params: ['window', 'stride', 'baseline', 'baselineImage', 'seed'] },
  { id: 'rise', name: 'RISE', slug: 'rise', needs: 'forward-scores', group: 'perturbation', signed: false, params: ['masks', 'cellSize', 'keep', 'baseline', 'baselineImage', 'seed'] }
] as const

/**
 * The method groups, in picker order: CAMs (maps at a layer's resolution, upsampled), gradient pixel
 * attributions (maps at the input's resolution), perturbation attributions (Occlusion, RISE: maps at the
 * input's resolution from forward passes only).
 */
export const CAM_METHOD_GROUPS = ['cam', 'gradient', 'perturbation'] as const
export type CamMethodGroup = (typeof CAM_METHOD_GROUPS)[number]

/**
 * The parameters of the pixel attribution methods (CamRunSettings' fields of the same names): their CLI
 * flags and help are made from this list, and each method names the ones it reads (`params` above).
 */
export const ATTRIBUTION_PARAMS = {
  steps: { flag: '--steps', value: 'N', help: 'points on the path from the baseline to the image (default 32)' },
  integration: { flag: '--integration', value: 'gausslegendre|trapezoid', help: 'the path integral rule (default gausslegendre)' },
  baseline: { flag: '--baseline', value: 'black|blurred|uniform|image', help: "where Integrated Gradients' path starts, and what replaces the occluded or masked pixels (Occlusion, RISE) (default black: a black image as the model sees it)" },
  baselineImage: { flag: '--baseline-image', value: 'FILE', help: 'the image the path starts from with --baseline image' },
  samples: { flag: '--samples', value: 'N', help: 'noisy copies of the image (default 25)' },
  noise: { flag: '--noise', value: 'F', help: "the noise's standard deviation as a fraction of the image's value range (default 0.15)" },
  seed: { flag: '--seed', value: 'N', help: "seeds the noise (SmoothGrad family), RISE's masks and the uniform baseline (default 0)" },
  window: { flag: '--window', value: 'PX', help: 'the side of the square Occlusion slides over the image, in input pixels (default 16)' },
  stride: { flag: '--stride', value: 'PX', help: "the occluding window's step, in input pixels, at most --window (default 8)" },
  masks: { flag: '--masks', value: 'N', help: 'random masks RISE averages over: one model run each (default 1000)' },
  cellSize: { flag: '--cell-size', value: 'PX', help: "the side of a RISE mask's grid cell, in input pixels (default: the input's shorter side / 7, the paper's 7 x 7 grid)" },
  keep: { flag: '--keep', value: 'P', help: 'the probability a RISE grid cell keeps the image, in (0, 1] (default 0.5)' }
} as const
export type AttributionParam = keyof typeof ATTRIBUTION_PARAMS

export type CamMethodEntry = (typeof CAM_METHOD_CATALOGUE)[number]
export type CamMethodId = CamMethodEntry['id']

export const CAM_METHOD_IDS = CAM_METHOD_CATALOGUE.map((m) => m.id) as unknown as readonly [CamMethodId, ...CamMethodId[]]

/** The display name of a method id (the id itself for anything unknown, e.g. from an old file). */
export function camMethodName(id: string): string {
  return CAM_METHOD_CATALOGUE.find((m) => m.id === id)?.name ?? id
}

/** The method's name in file names (`cat.gradcampp.png`): letters and digits only. */
export function camMethodSlug(id: string): string {
  return CAM_METHOD_CATALOGUE.find((m) => m.id === id)?.slug ?? id.replace(/[^a-z0-9]/gi, '')
}

/** The method's group (`cam` for anything unknown, e.g. from an old file). */
export function camMethodGroup(id: string): CamMethodGroup {
  return CAM_METHOD_CATALOGUE.find((m) => m.id === id)?.group ?? 'cam'
}

/** True when the method's maps are signed (Input × Gradient, Integrated Gradients): the raw map keeps the sign. */
export function camMethodSigned(id: string): boolean {
  return CAM_METHOD_CATALOGUE.find((m) => m.id === id)?.signed ?? false
}

/** True when the method reads the chosen layer: the CAMs, and Guided Grad-CAM (its Grad-CAM factor). Other pixel attributions ignore it. */
export function camMethodReadsLayer(id: string): boolean {
  const m = CAM_METHOD_CATALOGUE.find((x) => x.id === id)
  return !m || m.group === 'cam' || m.needs === 'layer-and-input-gradients'
}
