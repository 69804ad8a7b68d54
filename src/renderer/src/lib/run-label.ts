import type { CamRunRecord } from '../../../shared/api'
import { camMethodName } from '../../../shared/registry/cam-methods'
import { basename } from './format'

/**
 * How a heatmap run is named wherever runs are listed (gallery chips, compare pickers, the detail
 * view): its method's name and its model's file name, since runs of several models share one list.
 */
export function camRunName(r: Pick<CamRunRecord, 'method' | 'modelPath'>): string {
  return `${camMethodName(r.method)} · ${basename(r.modelPath)}`
}
