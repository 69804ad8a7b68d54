/**
 * The CAM methods: one line each. The API's enums, the CLI's flags and help, the UI's pickers and
 * labels, the report and the CSVs all read this list; the engine keeps one module per id
 * (src/main/engine/cam/methods/), and TypeScript holds the two to the same ids. A method's name is a
 * proper name, the same in every language; its description is an i18n string (`camMethod.<id>`).
 */
export const CAM_METHOD_CATALOGUE = [
  { id: 'gradcam', name: 'Grad-CAM', slug: 'gradcam', needs: 'gradients' },
  { id: 'gradcam++', name: 'Grad-CAM++', slug: 'gradcampp', needs: 'gradients' },
  { id: 'xgradcam', name: 'XGrad-CAM', slug: 'xgradcam', needs: 'gradients' },
  { id: 'hirescam', name: 'HiRes-CAM', slug: 'hirescam', needs: 'gradients' },
  { id: 'layercam', name: 'LayerCAM', slug: 'layercam', needs: 'gradients' },
  { id: 'eigencam', name: 'Eigen-CAM', slug: 'eigencam', needs: 'activations' },
  { id: 'scorecam', name: 'Score-CAM', slug: 'scorecam', needs: 'activations' }
] as const

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
