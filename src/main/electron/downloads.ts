import { APP_ORIGIN } from './window-options'

/** Where the app serves a file a job wrote for the user (an audit report, an adapted model). */
export const DOWNLOADS_PREFIX = '/downloads/'

/** Whether `url` is one of the app's own downloads, metascope://app/downloads/<id>. */
export function isAppDownloadUrl(url: string): boolean {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}` === APP_ORIGIN && u.pathname.startsWith(DOWNLOADS_PREFIX) && u.pathname.length > DOWNLOADS_PREFIX.length
  } catch {
    return false
  }
}

/** The save dialog's options for one download (Electron's SaveDialogOptions, the fields we set). */
export interface SaveDialogPlan {
  title: string
  defaultPath: string
  filters: { name: string; extensions: string[] }[]
}

/**
 * What the session's `will-download` does with a download: the app's own downloads ask where to save
 * (a save dialog, the served name suggested, its extension as the filter); anything else (a page
 * cannot start one, but a download is the one way a file leaves the app) is cancelled: null.
 */
export function planDownload(url: string, suggestedName: string, downloadsDir: string): SaveDialogPlan | null {
  if (!isAppDownloadUrl(url)) return null
  const name = suggestedName.replace(/[/\\]/g, '_') || 'download'
  const dot = name.lastIndexOf('.')
  const ext = dot > 0 ? name.slice(dot + 1) : ''
  const sep = downloadsDir.includes('\\') && !downloadsDir.includes('/') ? '\\' : '/'
  return {
    title: 'Save',
    defaultPath: downloadsDir ? `${downloadsDir.replace(/[/\\]+$/, '')}${sep}${name}` : name,
    filters: ext ? [{ name: ext.toUpperCase(), extensions: [ext] }, { name: 'All files', extensions: ['*'] }] : []
  }
}
