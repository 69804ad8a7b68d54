import { readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeNpy } from '../../src/main/engine/data/npy'
import { pearson } from '../cam-reference'
import { fixture, ROOT, runCli, tempDir } from '../helpers'


const cli = runCli

const input = (i: number) => fixture('cam', 'mini_resnet', `input_${i}.npy`)

describe('cli cam --target beyond one class score', () => {
  it('region:C@x0,y0,x1,y1 on a segmentation model writes the reference map and names the target in results.json', async () => {
    const out = tempDir()
    const r = await cli(['cam', '--model', fixture('targets', 'tiny_seg.onnx'), '--images', input(0), '--out', out, '--layer', 'features', '--target', 'region:2@8,4,20,16'])
    expect(r.code, r.stderr).toBe(0)
    const raw = decodeNpy(readFileSync(join(out, 'input_0.gradcam.raw.npy')))
    const ref = decodeNpy(readFileSync(fixture('targets', 'tiny_seg_region_gradcam.npy')))
    expect(pearson(raw.data, ref.data.subarray(0, raw.data.length))).toBeGreaterThanOrEqual(0.999)
    const [result] = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { target: { index: number; label: string; logit: number } }[]
    expect(result.target.index).toBe(2)
    expect(result.target.label).toBe('2 in x 8-20, y 4-16')
  })

  it('similarity:FILE takes a path relative to the working directory', async () => {
    const out = tempDir()
    const reference = relative(ROOT, input(2))
    const r = await cli(['cam', '--model', fixture('targets', 'tiny_embed.onnx'), '--images', input(0), '--out', out, '--method', 'saliency', '--target', `similarity:${reference}`])
    expect(r.code, r.stderr).toBe(0)
    const [result] = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { target: { label: string; logit: number } }[]
    expect(result.target.label).toBe('similarity to input_2.npy')
    expect(result.target.logit).toBeCloseTo(0.9914, 3)
  })

  it('a bad target is refused before any work, naming --target', async () => {
    const out = tempDir()
    const r = await cli(['cam', '--model', fixture('targets', 'tiny_seg.onnx'), '--images', input(0), '--out', out, '--target', 'region:2@0,0,64,8'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/--target: The region 0,0,64,8 lies outside tiny_seg.onnx's 32x32 output/)
  })
})
