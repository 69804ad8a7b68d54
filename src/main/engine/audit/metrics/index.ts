import type { AuditMetricId } from '../../../../shared/registry/audit-metrics'
import type { AuditMetricModule } from './base'
import { calibration } from './calibration'
import { confidence } from './confidence'
import { deletion } from './deletion'
import { insertion } from './insertion'
import { road } from './road'
import { sanity } from './sanity'
import { where } from './where'

/** One module per registry id, in catalogue order (TypeScript holds the keys to the catalogue's ids; a test, each module's own id). */
export const AUDIT_METRIC_MODULES: Readonly<Record<AuditMetricId, AuditMetricModule>> = { deletion, insertion, road, confidence, sanity, calibration, where }

/** Every metric module in catalogue order. */
export const ALL_METRICS: readonly AuditMetricModule[] = Object.values(AUDIT_METRIC_MODULES)

/** The chosen metrics' modules, in catalogue order (whatever order the user listed them in). */
export function chosenMetrics(ids: readonly string[]): AuditMetricModule[] {
  return ALL_METRICS.filter((m) => ids.includes(m.id))
}
