import type { ArgsOf, MethodName, ResultOf } from './api'
import type { ApiEvent } from './events'
import { MODEL_COMPANION_EXTENSIONS, MODEL_EXTENSIONS } from './registry/model-formats'

/** Thumbnail edge bounds in pixels: the grid asks for THUMB_DEFAULT; anything else is clamped. */
export const THUMB_DEFAULT = 192
export const THUMB_MIN = 32
export const THUMB_MAX = 512
/** Thumbnails are WebP (alpha kept, small); both routes send this content type. */
export const THUMB_MIME = 'image/webp'

/** A thumbnail size the engine will make: an integer in THUMB_MIN..THUMB_MAX (THUMB_DEFAULT if not a number). */
export function clampThumbSize(size: unknown): number {
  const n = typeof size === 'string' && size.trim() !== '' ? Number(size) : size
  if (typeof n !== 'number' || !Number.isFinite(n)) return THUMB_DEFAULT
  return Math.min(THUMB_MAX, Math.max(THUMB_MIN, Math.round(n)))
}

/** Image files the engine reads from a folder (lower-case, with the dot; engine/data/images.ts). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.gif', '.tif', '.tiff', '.avif']

/**
 * What browser mode accepts as an upload (lower-case, with the dot): images, plus what a model needs
 * (.onnx, a TensorFlow.js model.json and its .bin weight shards, a .txt labels file, .npy inputs).
 */
export const UPLOAD_EXTENSIONS: readonly string[] = [
  ...IMAGE_EXTENSIONS,
  '.npy', ...MODEL_EXTENSIONS, ...MODEL_COMPANION_EXTENSIONS, '.txt'
]

/** The most one uploaded file may hold (bytes). */
export const UPLOAD_MAX_BYTES = 200 * 1024 * 1024

/** One file to upload in browser mode: `relativePath` is e.g. File.webkitRelativePath, or the name. */
export interface UploadFile {
  file: File
  relativePath: string
  /**
   * A weight shard's model.json (its relativePath, uploaded in the same call): the shard is stored
   * whatever its name (`group1-shard1of2`) when that json's weightsManifest lists it.
   */
  listedBy?: string
}

/**
 * The interface the renderer is written against (our Netron-style Host): the Electron preload and the
 * browser-mode HTTP client both implement it, so no component knows which transport it runs on.
 */
export interface MetascopeApi {
  call<M extends MethodName>(method: M, args: ArgsOf<M>): Promise<ResultOf<M>>
  onEvent(listener: (event: ApiEvent) => void): () => void
  /** A URL the renderer may put in <img src> for an image the user added (full size). */
  imageUrl(imageId: string): string
  /**
   * A URL for a small preview of an added image (fits inside size x size, EXIF rotation applied;
   * never enlarged). For grids and lists: never load full-size images there. `size` defaults to
   * THUMB_DEFAULT (192) and is clamped to THUMB_MIN..THUMB_MAX (32..512).
   */
  thumbUrl(imageId: string, size?: number): string
  /** Which transport is active, for the status bar. */
  readonly transport: 'electron' | 'browser'
  /** Desktop only: a native file dialog ('output': one folder to write to, which the dialog may create). */
  pick?(kind: PickKind): Promise<string[]>
  /** The URL that downloads a file a job wrote (an adapted model, a report), by its download id; the desktop app asks where to save it. */
  downloadUrl?(downloadId: string): string
  /** Desktop only: the path of a dropped File. */
  pathForFile?(file: File): string
  /** Desktop only: commands from the application menu (File > Open…). */
  onCommand?(listener: (command: HostCommand) => void): () => void
  /**
   * Browser mode only (a web page cannot see file paths): uploads picked or dropped files to the
   * server, 4 at a time, keeping their relative folders (so folder names still work as labels), and
   * resolves with the server-side absolute paths, in input order, to pass to images.add / models.open.
   * Files whose extension is not in UPLOAD_EXTENSIONS (unless listedBy), and hidden files (.DS_Store),
   * are skipped, not uploaded, and have no entry in the result. Rejects with an ApiError on the first
   * failed upload.
   */
  uploadFiles?(files: UploadFile[], onProgress?: (done: number, total: number) => void): Promise<string[]>
}

/** The native dialogs the desktop app opens for the renderer. */
export type PickKind = 'model' | 'images' | 'folder' | 'labels' | 'output'

export type HostCommand = { command: 'open-paths'; kind: 'model' | 'images' | 'folder' | 'labels'; paths: string[] }
