/**
 * The few-shot methods: one line each. The API's enums, the CLI's flags and help, and the UI's pickers
 * read this list; each method's label is the i18n string `fewshot.method.<id>`, and the engine keeps
 * one module per id (src/main/engine/fewshot/methods/), held to the same ids by TypeScript.
 * `adaptsImported`: the method adapts an imported, pretrained model head-only, on embeddings computed
 * once (the others meta-train the built-in Conv-4 through every weight).
 */
export const FEWSHOT_METHOD_CATALOGUE = [
  { id: 'protomaml', adaptsImported: true },
  { id: 'anil', adaptsImported: true },
  { id: 'maml', adaptsImported: false },
  { id: 'fomaml', adaptsImported: false },
  { id: 'metasgd', adaptsImported: false },
  { id: 'protonet', adaptsImported: true },
  { id: 'finetune', adaptsImported: true }
] as const

type Entry = (typeof FEWSHOT_METHOD_CATALOGUE)[number]
export type FewshotMethodId = Entry['id']
export type AdaptMethodId = Extract<Entry, { adaptsImported: true }>['id']

export const FEWSHOT_METHOD_IDS = FEWSHOT_METHOD_CATALOGUE.map((m) => m.id) as unknown as readonly [FewshotMethodId, ...FewshotMethodId[]]
export const ADAPT_METHOD_IDS = FEWSHOT_METHOD_CATALOGUE.filter((m) => m.adaptsImported).map((m) => m.id) as unknown as readonly [AdaptMethodId, ...AdaptMethodId[]]
