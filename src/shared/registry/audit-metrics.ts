/**
 * The audit metrics: one line each. The API's enum, the CLI's `--metrics` flag and help, the Audit
 * view's checkboxes (labels: i18n `audit.metric.<id>`, help: `audit.metricHelp.<id>`), the method
 * ranking's columns (UI table, report table, methods.csv) and the report's sections all read this list;
 * the engine keeps one module per id (src/main/engine/audit/metrics/), held to the same ids by TypeScript.
 *
 * `columns`: what the metric adds to the method ranking, one value per CAM method. `key` is the field
 * of the summary's method row (and the i18n key `audit.col.<key>`), `better` the direction that means
 * a more faithful map, `csv` the methods.csv column, `report` the report table's header (the report is
 * English, like the CSV). A verdict also names `why`, the row field listing the verdicts that flagged
 * the method (i18n `audit.flaggedBy.<verdict>`), and `whyCsv`, its methods.csv column.
 */
export const AUDIT_METRIC_CATALOGUE = [
  { id: 'deletion', needsLabels: false, columns: [{ key: 'deletion', kind: 'number', better: 'lower', csv: 'deletion_auc', report: 'deletion AUC' }] },
  { id: 'insertion', needsLabels: false, columns: [{ key: 'insertion', kind: 'number', better: 'higher', csv: 'insertion_auc', report: 'insertion AUC' }] },
  {
    id: 'road',
    needsLabels: false,
    columns: [
      { key: 'roadMorf', kind: 'number', better: 'lower', csv: 'road_morf', report: 'ROAD MoRF' },
      { key: 'roadLerf', kind: 'number', better: 'higher', csv: 'road_lerf', report: 'ROAD LeRF' },
      { key: 'roadGap', kind: 'number', better: 'higher', csv: 'road_gap', report: 'ROAD gap' }
    ]
  },
  { id: 'confidence', needsLabels: false, columns: [{ key: 'confidenceChange', kind: 'number', better: 'higher', csv: 'confidence_change', report: 'confidence change' }] },
  {
    id: 'sanity',
    needsLabels: false,
    columns: [
      // Mean Spearman to the trained model's maps with only the class layer re-drawn: lower = the maps depend more on it.
      { key: 'sanityClassLayer', kind: 'number', better: 'lower', csv: 'sanity_class_layer_spearman', report: 'class-layer Spearman' },
      // Flagged by either verdict; `why` lists which (class-layer, all-layers), in the row and in methods.csv.
      { key: 'sanityFlagged', kind: 'verdict', better: 'lower', csv: 'sanity_flagged', report: 'sanity', why: 'sanityFlaggedBy', whyCsv: 'sanity_flagged_by' }
    ]
  },
  { id: 'calibration', needsLabels: true, columns: [] },
  { id: 'where', needsLabels: false, columns: [] }
] as const

type Entry = (typeof AUDIT_METRIC_CATALOGUE)[number]
export type AuditMetricId = Entry['id']
export type AuditColumn = Entry['columns'][number]
/** A numeric column's key in the method row (e.g. `roadGap`). */
export type AuditNumberKey = Extract<AuditColumn, { kind: 'number' }>['key']
/** A pass/flag column's key in the method row (`sanityFlagged`). */
export type AuditVerdictKey = Extract<AuditColumn, { kind: 'verdict' }>['key']
/** The method row's field that lists which verdicts flagged it (`sanityFlaggedBy`). */
export type AuditWhyKey = Extract<AuditColumn, { kind: 'verdict' }>['why']

export const AUDIT_METRIC_IDS = AUDIT_METRIC_CATALOGUE.map((m) => m.id) as unknown as readonly [AuditMetricId, ...AuditMetricId[]]

/** Every ranking column, in catalogue order: the UI table, the report table and methods.csv. */
export const AUDIT_COLUMNS: readonly AuditColumn[] = AUDIT_METRIC_CATALOGUE.flatMap((m): readonly AuditColumn[] => m.columns)
export const AUDIT_NUMBER_KEYS = AUDIT_COLUMNS.filter((c) => c.kind === 'number').map((c) => c.key) as AuditNumberKey[]
export const AUDIT_VERDICT_KEYS = AUDIT_COLUMNS.filter((c) => c.kind === 'verdict').map((c) => c.key) as AuditVerdictKey[]
export const AUDIT_WHY_KEYS = AUDIT_COLUMNS.flatMap((c) => (c.kind === 'verdict' ? [c.why] : [])) as AuditWhyKey[]

/** methods.csv's columns after rank, method and images: each registry column, a verdict's `why` column after it. */
export const AUDIT_CSV_COLUMNS: readonly string[] = AUDIT_COLUMNS.flatMap((c) => (c.kind === 'verdict' ? [c.csv, c.whyCsv] : [c.csv]))
