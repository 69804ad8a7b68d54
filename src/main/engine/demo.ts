import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { DemoInfo } from '../../shared/api'

/**
 * Where the bundled resources live: METASCOPE_RESOURCES when a host sets it (the packaged desktop
 * app), else the nearest resources/ folder beside a package.json above this file (the repository,
 * whether running from src/ under tsx or from the bundled out/main/).
 */
export function resourcesDir(): string {
  if (process.env.METASCOPE_RESOURCES) return resolve(process.env.METASCOPE_RESOURCES)
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'resources'))) return join(dir, 'resources')
  }
  return resolve('resources')
}

/** The demo: a small Fashion-MNIST classifier and labelled images, made by scripts/demo/. */
export async function demoInfo(): Promise<DemoInfo> {
  const dir = join(resourcesDir(), 'demo')
  const modelPath = join(dir, 'fashion_cnn.onnx')
  const imagesDir = join(dir, 'images')
  return {
    available: existsSync(modelPath) && existsSync(imagesDir),
    modelPath,
    imagesDir,
    description: 'A small CNN trained on Fashion-MNIST (10 clothing classes, 28x28 greyscale), with test images in one folder per class.',
    fewshot: fewshotDemo(join(dir, 'fewshot'))
  }
}

/** The few-shot demo (scripts/demo/make_demo.py): the same CNN trained on 5 classes, taught the other 5. */
function fewshotDemo(dir: string): DemoInfo['fewshot'] {
  const modelPath = join(dir, 'fashion_cnn_0to4.onnx')
  const supportDir = join(dir, 'support')
  const queryDir = join(dir, 'query')
  return {
    available: [modelPath, supportDir, queryDir].every((p) => existsSync(p)),
    modelPath,
    supportDir,
    queryDir,
    description:
      'A CNN trained on 5 Fashion-MNIST classes only (T-shirt/top, Trouser, Pullover, Dress, Coat) is taught 5 classes it has never seen (Sandal, Shirt, Sneaker, Bag, Ankle boot) from 5 images each; 5 more of each test it.'
  }
}
