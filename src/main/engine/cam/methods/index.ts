import type { CamMethodId } from '../../../../shared/registry/cam-methods'
import type { CamMethodModule, GradientCam, GradientCamModule, PerturbationMethodModule, PixelMethodModule } from './base'
import { ablationcam } from './ablationcam'
import { eigencamMethod } from './eigencam'
import { eigengradcam } from './eigengradcam'
import { finercam } from './finercam'
import { fullgrad } from './fullgrad'
import { gradcamElementwise } from './gradcam-elementwise'
import { kpcacam } from './kpcacam'
import { gradcam } from './gradcam'
import { gradcamPlusPlus } from './gradcam-pp'
import { deconvnet, guidedBackprop } from './guided-backprop'
import { guidedGradcam } from './guided-gradcam'
import { hirescam } from './hirescam'
import { inputXGradient } from './input-x-gradient'
import { occlusion } from './occlusion'
import { rise } from './rise'
import { integratedGradients } from './integrated-gradients'
import { saliency } from './saliency'
import { smoothgrad, smoothgradSquared, vargrad } from './smoothgrad'
import { layercam } from './layercam'
import { scorecamMethod } from './scorecam'
import { xgradcam } from './xgradcam'

/**
 * The CAM method registry: one module per id of src/shared/registry/cam-methods.ts (the type makes a
 * missing or extra entry a compile error). Adding a method: its module here, its line below, its
 * catalogue line and its description in the two languages.
 */
export const CAM_METHOD_MODULES: { [K in CamMethodId]: CamMethodModule & { id: K } } = {
  gradcam: gradcam as GradientCamModule & { id: 'gradcam' },
  'gradcam++': gradcamPlusPlus as GradientCamModule & { id: 'gradcam++' },
  xgradcam: xgradcam as GradientCamModule & { id: 'xgradcam' },
  hirescam: hirescam as GradientCamModule & { id: 'hirescam' },
  layercam: layercam as GradientCamModule & { id: 'layercam' },
  eigencam: eigencamMethod as CamMethodModule & { id: 'eigencam' },
  scorecam: scorecamMethod as CamMethodModule & { id: 'scorecam' },
  gradcamelementwise: gradcamElementwise as GradientCamModule & { id: 'gradcamelementwise' },
  eigengradcam: eigengradcam as GradientCamModule & { id: 'eigengradcam' },
  ablationcam: ablationcam as CamMethodModule & { id: 'ablationcam' },
  kpcacam: kpcacam as CamMethodModule & { id: 'kpcacam' },
  finercam: finercam as GradientCamModule & { id: 'finercam' },
  fullgrad: fullgrad as GradientCamModule & { id: 'fullgrad' },
  saliency: saliency as PixelMethodModule & { id: 'saliency' },
  inputxgradient: inputXGradient as PixelMethodModule & { id: 'inputxgradient' },
  integratedgradients: integratedGradients as PixelMethodModule & { id: 'integratedgradients' },
  smoothgrad: smoothgrad as PixelMethodModule & { id: 'smoothgrad' },
  'smoothgrad-sq': smoothgradSquared as PixelMethodModule & { id: 'smoothgrad-sq' },
  vargrad: vargrad as PixelMethodModule & { id: 'vargrad' },
  guidedbackprop: guidedBackprop as PixelMethodModule & { id: 'guidedbackprop' },
  deconvnet: deconvnet as PixelMethodModule & { id: 'deconvnet' },
  guidedgradcam: guidedGradcam as PixelMethodModule & { id: 'guidedgradcam' },
  occlusion: occlusion as PerturbationMethodModule & { id: 'occlusion' },
  rise: rise as PerturbationMethodModule & { id: 'rise' }
}

export type CamMethod = CamMethodId

export function camMethod(id: CamMethod): CamMethodModule {
  return CAM_METHOD_MODULES[id]
}

// FullGrad builds its own graph over every bias layer: it has no single-layer (A, G) form.
const gradientModules = () => Object.values(CAM_METHOD_MODULES).filter((m): m is GradientCamModule & { id: CamMethod } => m.kind === 'gradient' && !m.graph)

/** The JavaScript definitions of the gradient methods, by id (the tests hold the graph versions to them). */
export const GRADIENT_CAMS: Partial<Record<CamMethod, GradientCam>> = Object.fromEntries(gradientModules().map((m) => [m.id, m.reference]))

export { eigencam } from './eigencam'
export { weightedSum } from './base'
export type { CamMethodModule, GradientCamModule, ForwardCamModule, ForwardCamInput, PixelMethodModule, PixelInput, PixelParams } from './base'
