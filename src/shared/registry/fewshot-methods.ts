/**
 * The few-shot methods: one line each. The API's enums, the CLI's flags and help, and the UI's pickers
 * read this list; each method's label is the i18n string `fewshot.method.<id>`, and the engine keeps
 * one module per id (src/main/engine/fewshot/methods/), held to the same ids by TypeScript.
 * `adaptsImported`: the method adapts an imported, pretrained model head-only, on embeddings computed
 * once (the others meta-train the built-in Conv-4 through every weight).
 * `batchNorm`: the BatchNorm convention the method's authors used, the default (docs/fewshot.md):
 * 'batch' normalises every forward pass with its own batch's statistics, at test time too (MAML's
 * transductive convention); 'running' trains in batch mode while tracking running statistics and tests
 * in inference mode with them (Prototypical Networks, the fine-tune baseline).
 */
export const FEWSHOT_METHOD_CATALOGUE = [
  { id: 'protomaml', adaptsImported: true, batchNorm: 'batch' },
  { id: 'anil', adaptsImported: true, batchNorm: 'batch' },
  { id: 'maml', adaptsImported: false, batchNorm: 'batch' },
  { id: 'fomaml', adaptsImported: false, batchNorm: 'batch' },
  { id: 'metasgd', adaptsImported: false, batchNorm: 'batch' },
  { id: 'protonet', adaptsImported: true, batchNorm: 'running' },
  { id: 'finetune', adaptsImported: true, batchNorm: 'running' }
] as const

/** The BatchNorm conventions of meta-training (see `batchNorm` above). */
export const BATCH_NORM_MODES = ['batch', 'running'] as const
export type BatchNormMode = (typeof BATCH_NORM_MODES)[number]

type Entry = (typeof FEWSHOT_METHOD_CATALOGUE)[number]
export type FewshotMethodId = Entry['id']
export type AdaptMethodId = Extract<Entry, { adaptsImported: true }>['id']

export const FEWSHOT_METHOD_IDS = FEWSHOT_METHOD_CATALOGUE.map((m) => m.id) as unknown as readonly [FewshotMethodId, ...FewshotMethodId[]]
export const ADAPT_METHOD_IDS = FEWSHOT_METHOD_CATALOGUE.filter((m) => m.adaptsImported).map((m) => m.id) as unknown as readonly [AdaptMethodId, ...AdaptMethodId[]]
