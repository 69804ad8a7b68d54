import type { AuditFile, SanityImage, SanitySummary, SanityVerdict } from '../../../../shared/audit'
import { camMethodName } from '../../../../shared/registry/cam-methods'
import type { CamMethod } from '../../cam/methods'
import { loadImageTensor } from '../../data/image-tensor'
import { csv } from '../csv'
import { table } from '../report-parts'
import { camMaker, classLayerVerdict, CLASS_LAYER_SPEARMAN, runSanity, sanityVerdict } from '../sanity'
import { colour, esc, lineChart } from '../svg-plots'
import { mean, type AuditMetricModule } from './base'

/** Positions in the whole sorted set of the sanity sample: spread evenly, so a class-sorted set gives several classes. */
function sanitySample(count: number, wanted: number): number[] {
  const n = Math.min(count, wanted)
  return Array.from({ length: n }, (_, i) => Math.floor((i * count) / n))
}

/**
 * Adebayo et al. 2018's cascading randomisation: after every image, the model's weights are re-drawn
 * layer by layer from the top, on `sanityImages` images spread over the whole sorted set (each shard
 * computes those that fall in it), for every method, at the layer `auto` resolved to.
 */
export const sanity: AuditMetricModule = {
  id: 'sanity',
  async afterImages({ plan, hooks, images, layer }) {
    const s = plan.args.settings
    const sample = new Set(sanitySample(plan.dataset.inputs.length, s.sanityImages).map((i) => plan.dataset.inputs[i].path))
    const mine = images.filter((i) => sample.has(i.path) && !i.error && i.predicted !== undefined)
    if (!mine.length) return { sanity: null }
    const files = new Map(plan.inputs.map((i) => [i.path, i.file]))
    const xs = await Promise.all(mine.map(async (i) => (await loadImageTensor(files.get(i.path)!, plan.preprocess)).data))
    hooks.onProgress?.({ phase: 'sanity', done: 0, total: s.sanitySteps })
    const out = await runSanity({
      model: plan.model,
      inputs: xs,
      targets: mine.map((i) => i.predicted!),
      makers: s.methods.map((m) => camMaker(m as CamMethod, layer)),
      steps: s.sanitySteps,
      seed: s.seed,
      throwIfCancelled: hooks.throwIfCancelled,
      onStep: (done, total, name) => hooks.onProgress?.({ phase: 'sanity', done, total, message: name })
    })
    const sanityImages: SanityImage[] = mine.map((img, i) => ({
      path: img.path,
      methods: Object.fromEntries(s.methods.map((m) => [m, { spearman: out.spearman[m].map((step) => step[i]), ssim: out.ssim[m].map((step) => step[i]) }]))
    }))
    return { sanity: { steps: out.steps, images: sanityImages } }
  },
  summarize: ({ sanity: part, settings }) => ({ sanity: part && part.images.length ? sanitySummary(part.steps, part.images, settings.methods) : null }),
  summarizeMethod({ row, parts, method }) {
    const m = parts.sanity?.methods[method]
    row.sanityFlagged = m?.flagged ?? null
    row.sanityFlaggedBy = m ? m.flaggedBy : null
    row.sanityClassLayer = m?.classLayerSpearman ?? null
  },
  csvFiles(f): Record<string, string> {
    const san = f.summary.sanity
    if (!san) return {}
    return {
      'sanity.csv': csv(
        ['method', 'step', 'layer', 'layers_randomised', 'spearman', 'ssim'],
        Object.entries(san.methods).flatMap(([m, v]) => san.steps.map((st, i) => [m, i + 1, st.layer, st.layersRandomised, v.spearman[i], v.ssim[i]]))
      )
    }
  },
  reportSection: async (f) => sanitySection(f)
}

function sanitySummary(steps: SanitySummary['steps'], images: SanityImage[], methods: string[]): SanitySummary {
  const out: SanitySummary = { images: images.map((i) => i.path), steps, methods: {} }
  for (const m of methods) {
    const per = images.map((i) => i.methods[m]).filter(Boolean)
    if (!per.length) continue
    const spearman = steps.map((_, s) => mean(per.map((p) => p.spearman[s]))!)
    const ssim = steps.map((_, s) => mean(per.map((p) => p.ssim[s]))!)
    // The class-layer verdict reads the step that re-drew the top layer alone (the first, unless sanitySteps is 1).
    const first = steps.findIndex((st) => st.layersRandomised === 1)
    const classLayer = first >= 0 ? classLayerVerdict(spearman[first]) : null
    const allLayers = sanityVerdict(spearman[spearman.length - 1], ssim[ssim.length - 1])
    const flaggedBy: SanityVerdict[] = [...(classLayer?.flagged ? ['class-layer' as const] : []), ...(allLayers.flagged ? ['all-layers' as const] : [])]
    out.methods[m] = {
      spearman,
      ssim,
      flagged: flaggedBy.length > 0,
      flaggedBy,
      classLayerSpearman: first >= 0 ? spearman[first] : null,
      reason: `${classLayer ? classLayer.reason : 'no step re-drew the class layer alone (sanity steps 1), so the class-layer verdict is not given'}; ${allLayers.reason}`
    }
  }
  return out
}

function sanitySection(f: AuditFile): string {
  const san = f.summary.sanity
  if (!san) return ''
  // Step 0 is the trained model itself (similarity 1), so each line starts from where it should.
  const xs = [0, ...san.steps.map((_, i) => i + 1)]
  const ms = Object.keys(san.methods)
  const splot = (k: 'spearman' | 'ssim') =>
    lineChart({ title: k === 'spearman' ? 'Spearman rank correlation' : 'SSIM', xLabel: 'layers randomised (cascade step, top first)', yLabel: 'similarity to original', x: [0, san.steps.length], y: [-1, 1], series: ms.map((m, i) => ({ name: camMethodName(m), xs, ys: [1, ...san.methods[m][k]], colour: colour(i) })) })
  return `<section data-metric="sanity"><h2>Sanity check: model parameter randomisation</h2><p class="muted">Adebayo et al. 2018: the weights are re-drawn layer by layer from the top; maps that stay similar to the originals do not depend on what the model learned. A method is flagged by either of two verdicts. Class layer: with only the top (class) layer re-drawn (step 1), the maps keep a mean Spearman of at least ${CLASS_LAYER_SPEARMAN} to the originals, so they hardly depend on the layer that decides the class. All layers: with every layer re-drawn (the last step), they keep a mean Spearman of at least 0.5 or a mean SSIM of at least 0.8. ${san.images.length} image(s): ${esc(san.images.join(', '))}.</p><div class="plots">${splot('spearman')}${splot('ssim')}</div>${table(
    ['step', 'layers randomised', 'down to'],
    san.steps.map((x, i) => [i + 1, x.layersRandomised, `<code>${esc(x.layer)}</code>`]),
    [true, true, false]
  )}${ms.map((m) => `<p data-sanity-method="${esc(m)}">${esc(camMethodName(m))}: ${san.methods[m].flagged ? `<span class="flag">flagged${flaggedBy(san.methods[m].flaggedBy)}</span>` : '<span class="ok">passes</span>'} — ${esc(san.methods[m].reason)}.</p>`).join('')}</section>`
}

/** ` (class layer, all layers)`: which verdicts flagged a method, as the report says it. */
export function flaggedBy(by: readonly string[] | null | undefined): string {
  return by?.length ? ` (${by.map((b) => b.replace('-', ' ')).join(', ')})` : ''
}
