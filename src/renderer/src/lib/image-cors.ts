/**
 * The crossOrigin an <img> needs so a canvas that draws it stays readable (getImageData). In
 * `npm run dev` the page is http://localhost while the desktop app's images come from metascope://,
 * another origin: they are requested under CORS (the app scheme answers the dev origin). Same-origin
 * and data: images need nothing.
 */
export function imageCrossOrigin(src: string, pageProtocol: string): 'anonymous' | null {
  return src.startsWith('metascope:') && pageProtocol !== 'metascope:' ? 'anonymous' : null
}
