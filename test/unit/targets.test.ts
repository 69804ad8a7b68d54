import { describe, expect, it } from 'vitest'
import { formatTarget, parseTarget, targetKindsFor, TargetSyntaxError } from '../../src/shared/targets'

describe('target strings', () => {
  it('reads every kind, and formatTarget writes them back', () => {
    const cases: [string, ReturnType<typeof parseTarget>][] = [
      ['top1', { kind: 'class', class: 'top1' }],
      ['7', { kind: 'class', class: 7 }],
      ['tabby cat', { kind: 'class', class: 'tabby cat' }],
      ['contrast:3,tabby cat', { kind: 'contrast', a: 3, b: 'tabby cat' }],
      ['output:2', { kind: 'output', index: 2 }],
      ['region:1@0,2,10,12', { kind: 'region', class: 1, box: [0, 2, 10, 12] }],
      ['region:road', { kind: 'region', class: 'road', box: null }],
      ['similarity:C:\\pics\\ref.png', { kind: 'similarity', reference: 'C:\\pics\\ref.png' }]
    ]
    for (const [text, spec] of cases) {
      expect(parseTarget(text), text).toEqual(spec)
      expect(formatTarget(spec)).toBe(text)
    }
    expect(parseTarget(4)).toEqual({ kind: 'class', class: 4 })
    expect(parseTarget(undefined)).toEqual({ kind: 'class', class: 'top1' })
  })

  it('says what was expected for a malformed target', () => {
    const bad: [string, RegExp][] = [
      ['contrast:1', /contrast:<A>,<B>/],
      ['contrast:1,1', /itself/],
      ['output:x', /output:<k>/],
      ['region:@1,2,3,4', /names no class/],
      ['region:1@1,2,3', /four whole numbers/],
      ['region:1@4,0,4,5', /empty/],
      ['similarity:', /names no reference/]
    ]
    for (const [text, message] of bad) {
      expect(() => parseTarget(text), text).toThrow(TargetSyntaxError)
      expect(() => parseTarget(text), text).toThrow(message)
    }
  })

  it('offers the targets that fit each output kind', () => {
    expect(targetKindsFor('segmentation')).toContain('region')
    expect(targetKindsFor('scores')).toContain('similarity')
    expect(targetKindsFor('classes')).not.toContain('similarity')
    expect(targetKindsFor('regression')).toEqual(['output'])
  })
})
