import { areaCurveMetric } from './area-curve'

/** Insertion: p(target) as the most relevant pixels are added back; a faithful map makes it rise fast (high area). */
export const insertion = areaCurveMetric('insertion')
