/** Host names that can only mean this machine. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * The dev server's page URL when the window should load it instead of the built renderer, else null.
 * electron-vite sets ELECTRON_RENDERER_URL in `npm run dev`; a packaged app never honours it (whoever
 * can set an environment variable would otherwise load any page into the window and make its origin
 * trusted by the IPC guard), and a checkout honours only a plain-http loopback URL, the only kind the
 * dev server gives.
 */
export function rendererUrl(env: Readonly<Record<string, string | undefined>>, packaged: boolean): string | null {
  const raw = env.ELECTRON_RENDERER_URL
  if (packaged || !raw) return null
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return null
  }
  if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname)) return null
  // Userinfo has no place in a dev server URL and could hide the real host from a reader.
  if (url.username || url.password) return null
  return url.href
}
