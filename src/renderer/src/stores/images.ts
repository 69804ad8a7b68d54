import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { ImageEntry, ImagesAddResult } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { api } from '../api'
import { desktopImagePaths } from '../lib/desktop-files'
import { asError } from './errors'

export interface PickedFile {
  file: File
  relativePath: string
}

export const useImagesStore = defineStore('images', () => {
  // shallowRef: 5,000 entries are replaced as a whole, never mutated in place, so no deep proxies.
  const entries = shallowRef<ImageEntry[]>([])
  const failed = ref<ImagesAddResult['failed']>([])
  const error = ref<ApiErrorShape | null>(null)
  const busy = ref(false)
  const upload = ref<{ done: number; total: number } | null>(null)
  const selected = ref(new Set<string>())
  const byId = computed(() => new Map(entries.value.map((e) => [e.id, e])))

  /**
   * Adds files or folders; resolves with what was added (null when the call failed: see `error`).
   * `library: false`: the engine knows them (thumbnails, runs) but the library list does not show them
   * (the few-shot board's own images).
   */
  async function add(paths: string[], opts: { library?: boolean } = {}): Promise<ImagesAddResult | null> {
    if (!paths.length) return null
    busy.value = true
    try {
      const result = await api.call('images.add', { paths })
      const known = new Set(entries.value.map((e) => e.id))
      // The few-shot board's own images (library: false) report their failures on the board, not here.
      if (opts.library !== false) {
        entries.value = [...entries.value, ...result.added.filter((e) => !known.has(e.id))]
        failed.value = result.failed
      }
      error.value = null
      return result
    } catch (err) {
      error.value = asError(err)
      return null
    } finally {
      busy.value = false
    }
  }

  /**
   * Files from a file input or a drop: the desktop app knows their paths; a browser uploads them
   * to the local server first (keeping folder names, which are the expected labels).
   */
  async function addFiles(files: PickedFile[], opts: { library?: boolean } = {}): Promise<ImagesAddResult | null> {
    if (!files.length) return null
    if (api.pathForFile) return add(desktopImagePaths(files, api.pathForFile), opts)
    if (!api.uploadFiles) return null
    upload.value = { done: 0, total: files.length }
    try {
      const paths = await api.uploadFiles(files, (done, total) => (upload.value = { done, total }))
      return await add(paths, opts)
    } catch (err) {
      error.value = asError(err)
      return null
    } finally {
      upload.value = null
    }
  }

  async function remove(ids: string[]): Promise<void> {
    await api.call('images.remove', { ids })
    const gone = new Set(ids)
    entries.value = entries.value.filter((e) => !gone.has(e.id))
    selected.value = new Set([...selected.value].filter((id) => !gone.has(id)))
  }

  function toggle(id: string, additive: boolean): void {
    const next = new Set(additive ? selected.value : [])
    if (selected.value.has(id) && additive) next.delete(id)
    else next.add(id)
    selected.value = next
  }

  function selectOnly(ids: string[]): void {
    selected.value = new Set(ids)
  }

  return { entries, failed, error, busy, upload, selected, byId, add, addFiles, remove, toggle, selectOnly }
})
