/**
 * The model formats: one line each. The API's enum, the file pickers and upload rules of both
 * transports, and the UI's labels (the i18n string `model.formatName.<id>`) read this list; the engine
 * keeps one module per id (src/main/engine/formats/), held to the same ids by TypeScript.
 * `extensions`: what the user picks; `companions`: files that travel with it (weight shards);
 * `converted`: opened by conversion to the ONNX IR, so the conversion check applies.
 */
export const MODEL_FORMAT_CATALOGUE = [
  { id: 'onnx', extensions: ['.onnx'], companions: [], converted: false },
  { id: 'tfjs-layers', extensions: ['.json'], companions: ['.bin'], converted: true },
  { id: 'tfjs-graph', extensions: ['.json'], companions: ['.bin'], converted: true }
] as const

export type ModelFormatId = (typeof MODEL_FORMAT_CATALOGUE)[number]['id']
export const MODEL_FORMAT_IDS = MODEL_FORMAT_CATALOGUE.map((f) => f.id) as unknown as readonly [ModelFormatId, ...ModelFormatId[]]

const unique = (xs: readonly string[]) => [...new Set(xs)]
/** Extensions a model is opened by (lower case, with the dot). */
export const MODEL_EXTENSIONS: readonly string[] = unique(MODEL_FORMAT_CATALOGUE.flatMap((f) => f.extensions))
/** Extensions of files that travel with a model. */
export const MODEL_COMPANION_EXTENSIONS: readonly string[] = unique(MODEL_FORMAT_CATALOGUE.flatMap((f) => f.companions))

/** Whether a format is opened by conversion (and so has a conversion check). */
export function isConverted(id: string): boolean {
  return MODEL_FORMAT_CATALOGUE.find((f) => f.id === id)?.converted ?? false
}
