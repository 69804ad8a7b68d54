import { beforeAll, describe, expect, it } from 'vitest'
import { IMAGE_EXTENSIONS as ENGINE_IMAGE_EXTENSIONS } from '../../src/main/engine/data/images'
import { IMAGE_EXTENSIONS } from '../../src/shared/client'

/**
 * What the desktop app does with dropped or picked files (src/renderer/src/lib/desktop-files.ts),
 * with a stand-in for the preload's pathForFile (webUtils.getPathForFile needs Electron). Loaded at
 * run time: tsconfig.node.json does not list renderer files.
 */
type Picked = { file: File; relativePath: string }
type Choice = { model: Picked; companions: Picked[]; missing: string[] }
type DesktopFiles = {
  desktopImagePaths(files: Picked[], pathForFile: (f: File) => string): string[]
  desktopModelPath(choice: Choice, pathForFile: (f: File) => string): string | null
}
type ModelFiles = {
  chooseModelFiles(files: Picked[], manifests?: ReadonlyMap<Picked, string[] | null>): Choice | null
  readManifests(files: Picked[]): Promise<Map<Picked, string[] | null>>
}
type ImageCors = { imageCrossOrigin(src: string, pageProtocol: string): string | null }
const lib = (name: string) => ['..', '..', 'src', 'renderer', 'src', 'lib', `${name}.ts`].join('/')
let d: DesktopFiles
let m: ModelFiles
let cors: ImageCors

beforeAll(async () => {
  d = (await import(/* @vite-ignore */ lib('desktop-files'))) as DesktopFiles
  m = (await import(/* @vite-ignore */ lib('model-files'))) as ModelFiles
  cors = (await import(/* @vite-ignore */ lib('image-cors'))) as ImageCors
})

/** A dropped file that sits on disk under /home/u/drop/<relativePath>, as webUtils would say. */
const onDisk = (relativePath: string, text = ''): Picked => ({ file: new File([text], relativePath.split('/').pop()!), relativePath })
function pathForFile(files: Picked[]) {
  const asked: string[] = []
  const fn = (file: File) => {
    const f = files.find((x) => x.file === file)
    asked.push(f?.relativePath ?? '?')
    return f ? `/home/u/drop/${f.relativePath}` : ''
  }
  return { fn, asked }
}

describe('desktop drops of images', () => {
  it('adds only the images of a dropped folder: no .DS_Store, hidden folders or other files', () => {
    const files = [
      onDisk('cats/a.JPG'),
      onDisk('cats/.DS_Store'),
      onDisk('cats/notes.txt'),
      onDisk('cats/.thumbs/b.png'),
      onDisk('cats/sub/c.webp'),
      onDisk('cats/Thumbs.db'),
      onDisk('cats/labels.csv')
    ]
    const p = pathForFile(files)
    expect(d.desktopImagePaths(files, p.fn)).toEqual(['/home/u/drop/cats/a.JPG', '/home/u/drop/cats/sub/c.webp'])
    // Paths are asked only for what is added.
    expect(p.asked).toEqual(['cats/a.JPG', 'cats/sub/c.webp'])
  })

  it('adds a file dropped on its own whatever it is (the engine says why it is no image), but never a hidden one', () => {
    const files = [onDisk('photo.png'), onDisk('notes.txt'), onDisk('.DS_Store')]
    expect(d.desktopImagePaths(files, pathForFile(files).fn)).toEqual(['/home/u/drop/photo.png', '/home/u/drop/notes.txt'])
  })

  it('leaves out files that have no path on disk', () => {
    const files = [onDisk('a.png'), onDisk('b.png')]
    expect(d.desktopImagePaths(files, (f) => (f === files[0].file ? '' : '/x/b.png'))).toEqual(['/x/b.png'])
  })

  it("reads the same image types as the engine's folder walk", () => {
    expect([...IMAGE_EXTENSIONS].sort()).toEqual([...ENGINE_IMAGE_EXTENSIONS].sort())
  })
})

describe('desktop drops of a TensorFlow.js model with its shards', () => {
  it('opens the model.json by its path on disk and never asks for a shard or a stray file', async () => {
    const manifest = JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['group1-shard1of2', 'group1-shard2of2'], weights: [] }] })
    const files = [onDisk('tfjs/group1-shard1of2'), onDisk('tfjs/.DS_Store'), onDisk('tfjs/emotion.json', manifest), onDisk('tfjs/group1-shard2of2'), onDisk('tfjs/readme.txt')]
    const choice = m.chooseModelFiles(files, await m.readManifests(files))!
    const p = pathForFile(files)
    expect(d.desktopModelPath(choice, p.fn)).toBe('/home/u/drop/tfjs/emotion.json')
    expect(p.asked).toEqual(['tfjs/emotion.json'])
  })

  it('gives null when the chosen model has no path on disk', () => {
    const files = [onDisk('net.onnx')]
    expect(d.desktopModelPath(m.chooseModelFiles(files)!, () => '')).toBeNull()
  })
})

describe('images drawn into a canvas', () => {
  it('asks for CORS only for app-scheme images on the dev server\'s page', () => {
    expect(cors.imageCrossOrigin('metascope://app/files/abc', 'http:')).toBe('anonymous')
    expect(cors.imageCrossOrigin('metascope://app/files/abc', 'metascope:')).toBeNull()
    expect(cors.imageCrossOrigin('/files/abc', 'http:')).toBeNull()
    expect(cors.imageCrossOrigin('data:image/png;base64,AA==', 'http:')).toBeNull()
  })
})
