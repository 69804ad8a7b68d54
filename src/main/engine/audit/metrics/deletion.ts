import { areaCurveMetric } from './area-curve'

/** Deletion: p(target) as the most relevant pixels are removed; a faithful map makes it fall fast (low area). */
export const deletion = areaCurveMetric('deletion')
