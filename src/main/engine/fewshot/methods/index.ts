import type { AdaptMethodId, FewshotMethodId } from '../../../../shared/registry/fewshot-methods'
import { anil } from './anil'
import { finetune } from './finetune'
import { fomaml } from './fomaml'
import { maml } from './maml'
import { metasgd } from './metasgd'
import { protomaml } from './protomaml'
import { protonet } from './protonet'
import type { MethodDef } from './base'
import type { HeadPlanner } from './head-plan'

/** A method's entry: its own id, and a head plan when the catalogue says it adapts imported models. */
type Entry<K extends FewshotMethodId> = MethodDef & { id: K } & (K extends AdaptMethodId ? { headPlan: HeadPlanner } : unknown)

/** The few-shot method registry: one module per id of the shared catalogue (a missing or extra entry, or a missing head plan, does not compile). */
export const METHODS: Readonly<{ [K in FewshotMethodId]: Entry<K> }> = { protomaml, anil, maml, fomaml, metasgd, protonet, finetune }

export type { MethodDef, MethodGraphSpec } from './base'
