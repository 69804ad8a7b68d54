import type { FewshotMethodId } from '../../../../shared/registry/fewshot-methods'
import { anil } from './anil'
import { finetune } from './finetune'
import { fomaml } from './fomaml'
import { maml } from './maml'
import { metasgd } from './metasgd'
import { protomaml } from './protomaml'
import { protonet } from './protonet'
import type { MethodDef } from './base'

/** The few-shot method registry: one module per id of the shared catalogue (a missing or extra entry does not compile). */
export const METHODS: Readonly<{ [K in FewshotMethodId]: MethodDef & { id: K } }> = {
  protomaml: protomaml as MethodDef & { id: 'protomaml' },
  anil: anil as MethodDef & { id: 'anil' },
  maml: maml as MethodDef & { id: 'maml' },
  fomaml: fomaml as MethodDef & { id: 'fomaml' },
  metasgd: metasgd as MethodDef & { id: 'metasgd' },
  protonet: protonet as MethodDef & { id: 'protonet' },
  finetune: finetune as MethodDef & { id: 'finetune' }
}

export type { MethodDef, MethodGraphSpec } from './base'
