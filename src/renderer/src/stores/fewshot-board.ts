import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import type { ImageEntry, ImagesAddResult } from '../../../shared/api'
import { maxOf } from '../../../shared/stats'
import { useFewshotViewStore } from './fewshot-view'
import { useImagesStore, type PickedFile } from './images'

export type SetRow = 'support' | 'query'

/** What "Undo" puts back: a whole class at its place, or one image in its row. */
export type Removed = { kind: 'class'; cls: FewshotClass; index: number } | { kind: 'image'; key: string; image: FewshotImage; row: SetRow; index: number }

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
  /** Images the user put in a row by hand (moved, dragged): a new shots count leaves them where they are. */
  const pinned = ref(new Set<string>())
  /** The last class or image removed, until undone or replaced by the next removal. */
  const removed = ref<Removed | null>(null)

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
    // Undo is for the last step: a new class or new images move on from it.
    removed.value = null
    const taken = new Set(classes.value.map((c) => c.name))
    let n = classes.value.length + 1
    while (!name && taken.has(`Class ${n}`)) n++
    classes.value.push({ key: newClassKey(), name: name ?? `Class ${n}`, support: [], query: [] })
    return classes.value.at(-1)!
  }

  function removeClass(key: string): void {
    const index = classes.value.findIndex((c) => c.key === key)
    if (index < 0) return
    removed.value = { kind: 'class', cls: classes.value[index], index }
    classes.value = classes.value.filter((c) => c.key !== key)
  }

  /** Puts back the last removed class (at its place) or image (in its row, when its class is still there). */
  function undoRemove(): void {
    const r = removed.value
    removed.value = null
    if (!r) return
    if (r.kind === 'class') {
      const next = [...classes.value]
      next.splice(Math.min(r.index, next.length), 0, r.cls)
      classes.value = next
      return
    }
    const c = findClass(r.key)
    if (c && ![...c.support, ...c.query].some((x) => x.id === r.image.id)) c[r.row].splice(Math.min(r.index, c[r.row].length), 0, r.image)
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

  /** Splits every class again, hand moves included: the first `shots` images are support, the rest query. */
  function resplit(): void {
    pinned.value = new Set()
    applyShots()
  }

  /**
   * The shots count applies at once: in every class, images the user placed by hand stay in their row;
   * the others fill support up to `shots` (in the order they were added) and the rest are query.
   */
  function applyShots(): void {
    const n = Math.max(0, Math.floor(shots.value || 0))
    for (const c of classes.value) {
      const isPinned = (x: FewshotImage) => pinned.value.has(x.id)
      const handSupport = c.support.filter(isPinned)
      const handQuery = c.query.filter(isPinned)
      const rest = [...c.support, ...c.query].filter((x) => !isPinned(x))
      const room = Math.max(0, n - handSupport.length)
      c.support = [...handSupport, ...rest.slice(0, room)]
      c.query = [...rest.slice(room), ...handQuery]
    }
  }
  watch(shots, applyShots)

  function move(key: string, id: string, to: SetRow): void {
    const c = findClass(key)
    if (!c) return
    const img = [...c.support, ...c.query].find((x) => x.id === id)
    if (!img) return
    c.support = c.support.filter((x) => x.id !== id)
    c.query = c.query.filter((x) => x.id !== id)
    c[to].push(img)
    pin(id)
  }

  function pin(id: string): void {
    pinned.value = new Set(pinned.value).add(id)
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
    if (img && target) {
      target[row].push(img)
      pin(id)
    }
  }

  function removeImage(key: string, id: string): void {
    const c = findClass(key)
    if (!c) return
    const row: SetRow = c.support.some((x) => x.id === id) ? 'support' : 'query'
    const index = c[row].findIndex((x) => x.id === id)
    if (index >= 0) removed.value = { kind: 'image', key, image: c[row][index], row, index }
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
    removed.value = null
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

  /**
   * Dropped or picked files (uploaded first in browser mode). They stay out of the image library: the
   * board is its own set, and a class folder of 100 images should not flood the library.
   */
  async function addFiles(files: PickedFile[], key: string | null): Promise<void> {
    if (!files.length) return
    const view = useFewshotViewStore()
    view.busy = true
    try {
      place(await useImagesStore().addFiles(files, { library: false }), key)
    } finally {
      view.busy = false
    }
  }

  async function addPaths(paths: string[], key: string | null): Promise<void> {
    const view = useFewshotViewStore()
    view.busy = true
    try {
      place(await useImagesStore().add(paths, { library: false }), key)
    } finally {
      view.busy = false
    }
  }

  /**
   * Classes from two folders of class sub-folders, one of support and one of query images (as the
   * few-shot demo's): each image goes to the row its folder says. The shots count becomes the support
   * count, so changing it afterwards re-splits from there.
   */
  async function addSplitFolders(supportDir: string, queryDir: string): Promise<boolean> {
    const view = useFewshotViewStore()
    const images = useImagesStore()
    view.busy = true
    try {
      const support = await images.add([supportDir], { library: false })
      const query = support && (await images.add([queryDir], { library: false }))
      if (!support || !query) {
        view.error = images.error
        return false
      }
      view.error = null
      removed.value = null
      failures.value = [...support.failed, ...query.failed]
      const byPath = (a: FewshotImage, b: FewshotImage) => a.path.localeCompare(b.path, undefined, { numeric: true })
      for (const [result, row] of [
        [support, 'support'],
        [query, 'query']
      ] as const) {
        const groups = new Map<string, FewshotImage[]>()
        for (const e of result.added) groups.set(e.folderLabel ?? 'images', [...(groups.get(e.folderLabel ?? 'images') ?? []), toFewshotImage(e)])
        for (const [name, imgs] of [...groups].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))) {
          const cls = classes.value.find((c) => c.name === name) ?? addClass(name)
          const held = new Set([...cls.support, ...cls.query].map((x) => x.id))
          cls[row].push(...imgs.filter((x) => !held.has(x.id)).sort(byPath))
        }
      }
      shots.value = Math.max(1, maxOf(classes.value.map((c) => c.support.length)))
      return true
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

  return { classes, shots, failures, removed, issues, boardIssue, ready, addClass, removeClass, undoRemove, resplit, move, moveTo, removeImage, addFiles, addPaths, addSplitFolders, addLibrary }
})
