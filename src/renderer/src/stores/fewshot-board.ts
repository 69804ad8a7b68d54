import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { ImageEntry, ImagesAddResult } from '../../../shared/api'
import { useFewshotViewStore } from './fewshot-view'
import { useImagesStore, type PickedFile } from './images'

export type SetRow = 'support' | 'query'

export interface FewshotImage {
  id: string
  path: string
  name: string
}

export interface FewshotClass {
  key: string
  name: string
  support: FewshotImage[]
  query: FewshotImage[]
}

/** A class needs one support and one query image at least; below this it is flagged. */
const MIN_IMAGES_PER_CLASS = 2
/** Support images per class when images are placed or split again; the rest are query images. */
const DEFAULT_SHOTS = 2

let counter = 0
export const newClassKey = () => `c${Date.now().toString(36)}${(counter++).toString(36)}`
export const toFewshotImage = (e: Pick<ImageEntry, 'id' | 'path' | 'name'>): FewshotImage => ({ id: e.id, path: e.path, name: e.name })

/** The Few-shot board: classes, each with its support and query images, and what keeps it from running. */
export const useFewshotBoardStore = defineStore('fewshot-board', () => {
  const classes = ref<FewshotClass[]>([])
  const shots = ref(DEFAULT_SHOTS)
  /** Files that could not be added to a class, each with its reason. */
  const failures = ref<ImagesAddResult['failed']>([])

  /** Per class: 'few' (under 2 images), 'noSupport', 'noQuery', 'name' (empty or repeated), or null. */
  const issues = computed(() => {
    const names = classes.value.map((c) => c.name.trim())
    return new Map(
      classes.value.map((c, i) => {
        const n = c.support.length + c.query.length
        const issue = !names[i] || names.indexOf(names[i]) !== i ? 'name' : n < MIN_IMAGES_PER_CLASS ? 'few' : !c.support.length ? 'noSupport' : !c.query.length ? 'noQuery' : null
        return [c.key, issue]
      })
    )
  })
  const boardIssue = computed(() => (classes.value.length === 0 ? 'noClasses' : classes.value.length === 1 ? 'oneClass' : null))
  const ready = computed(() => !boardIssue.value && [...issues.value.values()].every((v) => v === null))

  function addClass(name?: string): FewshotClass {
    const taken = new Set(classes.value.map((c) => c.name))
    let n = classes.value.length + 1
    while (!name && taken.has(`Class ${n}`)) n++
    classes.value.push({ key: newClassKey(), name: name ?? `Class ${n}`, support: [], query: [] })
    return classes.value.at(-1)!
  }

  function removeClass(key: string): void {
    classes.value = classes.value.filter((c) => c.key !== key)
  }

  function findClass(key: string): FewshotClass | undefined {
    return classes.value.find((c) => c.key === key)
  }

  /** Puts images into a class (once anywhere on the board): support until it holds `shots`, then query. */
  function put(cls: FewshotClass, images: FewshotImage[]): void {
    for (const img of images) {
      for (const c of classes.value) {
        c.support = c.support.filter((x) => x.id !== img.id)
        c.query = c.query.filter((x) => x.id !== img.id)
      }
      if (cls.support.length < shots.value) cls.support.push(img)
      else cls.query.push(img)
    }
  }

  /** Splits every class again: the first `shots` images are support, the rest query. */
  function resplit(): void {
    for (const c of classes.value) {
      const all = [...c.support, ...c.query]
      c.support = all.slice(0, shots.value)
      c.query = all.slice(shots.value)
    }
  }

  function move(key: string, id: string, to: SetRow): void {
    const c = findClass(key)
    if (!c) return
    const img = [...c.support, ...c.query].find((x) => x.id === id)
    if (!img) return
    c.support = c.support.filter((x) => x.id !== id)
    c.query = c.query.filter((x) => x.id !== id)
    c[to].push(img)
  }

  /** Moves an image to another class (or row) by drag and drop. */
  function moveTo(id: string, key: string, row: SetRow): void {
    let img: FewshotImage | undefined
    for (const c of classes.value) {
      img ??= [...c.support, ...c.query].find((x) => x.id === id)
      c.support = c.support.filter((x) => x.id !== id)
      c.query = c.query.filter((x) => x.id !== id)
    }
    const target = findClass(key)
    if (img && target) target[row].push(img)
  }

  function removeImage(key: string, id: string): void {
    const c = findClass(key)
    if (!c) return
    c.support = c.support.filter((x) => x.id !== id)
    c.query = c.query.filter((x) => x.id !== id)
  }

  /**
   * Adds what images.add returned: into class `key`, or (no key) into the class named after each
   * image's folder, created when missing, so a folder of class sub-folders becomes classes.
   */
  function place(result: ImagesAddResult | null, key: string | null): void {
    const view = useFewshotViewStore()
    failures.value = result?.failed ?? []
    if (!result) {
      view.error = useImagesStore().error
      return
    }
    view.error = null
    if (key) {
      const c = findClass(key)
      if (c) put(c, result.added.map(toFewshotImage))
      return
    }
    const groups = new Map<string, FewshotImage[]>()
    for (const e of result.added) {
      const name = e.folderLabel ?? 'images'
      groups.set(name, [...(groups.get(name) ?? []), toFewshotImage(e)])
    }
    const names = [...groups.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
    const byPath = (a: FewshotImage, b: FewshotImage) => a.path.localeCompare(b.path, undefined, { numeric: true })
    for (const name of names) put(classes.value.find((c) => c.name === name) ?? addClass(name), groups.get(name)!.sort(byPath))
  }

  /** Dropped or picked files (uploaded first in browser mode); they join the image library too. */
  async function addFiles(files: PickedFile[], key: string | null): Promise<void> {
    if (!files.length) return
    const view = useFewshotViewStore()
    view.busy = true
    try {
      place(await useImagesStore().addFiles(files), key)
    } finally {
      view.busy = false
    }
  }

  async function addPaths(paths: string[], key: string | null): Promise<void> {
    const view = useFewshotViewStore()
    view.busy = true
    try {
      place(await useImagesStore().add(paths), key)
    } finally {
      view.busy = false
    }
  }

  /** Images already in the library (selected there, or dragged from it). */
  function addLibrary(ids: string[], key: string): void {
    const images = useImagesStore()
    const c = findClass(key)
    if (c) put(c, ids.flatMap((id) => (images.byId.get(id) ? [toFewshotImage(images.byId.get(id)!)] : [])))
  }

  return { classes, shots, failures, issues, boardIssue, ready, addClass, removeClass, resplit, move, moveTo, removeImage, addFiles, addPaths, addLibrary }
})
