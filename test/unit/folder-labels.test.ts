import { describe, expect, it } from 'vitest'
import { recordsToCsv, type CamRecord } from '../../src/main/engine/cam/record'
import { classFolderLabels } from '../../src/shared/folder-labels'

describe('folder labels', () => {
  it('a folder name is a label only beside another folder of images (a folder of class sub-folders)', () => {
    const labels = classFolderLabels(['/d/pets/cat/1.png', '/d/pets/cat/2.png', '/d/pets/dog/3.png', '/d/holiday/4.jpg', '/tmp/up/batch-1/5.png', 'C:\\data\\a\\6.png', 'C:\\data\\b\\7.png'])
    expect(Object.fromEntries(labels)).toEqual({ '/d/pets/cat/1.png': 'cat', '/d/pets/cat/2.png': 'cat', '/d/pets/dog/3.png': 'dog', 'C:\\data\\a\\6.png': 'a', 'C:\\data\\b\\7.png': 'b' })
  })

  it('one class folder alone, or a file at the root, has none', () => {
    expect(classFolderLabels(['/d/pets/cat/1.png', '/x.png']).size).toBe(0)
  })

  it('results.csv keeps its columns in order and appends the label, the parameters and the completeness', () => {
    const ok: CamRecord = {
      file: '/d/pets/cat/1.png', stem: '1', ok: true, kind: 'image', top5: [{ index: 1, label: 'dog', probability: 0.9 }], target: { index: 1, label: 'dog', probability: 0.9, logit: 2 },
      layer: 'conv', method: 'gradcam', provider: 'cpu', ms: 1, rawMin: 0, rawMax: 1, rawShape: [2, 2], label: 'cat'
    }
    const failed: CamRecord = { file: '/d/x.png', stem: 'x', ok: false, kind: 'image', error: { code: 'bad-file', message: 'broken' }, method: 'gradcam', layer: 'conv' }
    const [header, row, bad] = recordsToCsv([ok, failed]).trim().split('\n')
    expect(header).toBe('"file","ok","method","layer","top1_index","top1_label","top1_probability","target_index","target_label","target_probability","ms","error","label","params","completeness_error","completeness_delta"')
    expect(row).toBe('"/d/pets/cat/1.png","true","gradcam","conv",1,"dog",0.9,1,"dog",0.9,1,"","cat","","",""')
    expect(bad).toBe('"/d/x.png","false","gradcam","conv","","","","","","","","broken","","","",""')
    const ig: CamRecord = { ...ok, method: 'integratedgradients', params: { steps: 8, baseline: 'black' }, completeness: { error: 0.01, delta: 2 } }
    expect(recordsToCsv([ig]).trim().split('\n')[1]).toBe('"/d/pets/cat/1.png","true","integratedgradients","conv",1,"dog",0.9,1,"dog",0.9,1,"","cat","steps=8;baseline=black",0.01,2')
  })
})
