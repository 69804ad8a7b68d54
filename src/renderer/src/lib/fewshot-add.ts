import { labelIndex } from '../../../shared/label-match'
import type { FewshotClass } from '../stores/fewshot-board'

/** The board's classes as "add classes" sends them: new ones to learn, and ones named like a class of the model. */
export interface AddSplit {
  fresh: FewshotClass[]
  /** Board classes whose name is one of the model's labels (or label folders): their images measure the old classes, they teach nothing. */
  old: { cls: FewshotClass; label: string }[]
}

/** Splits the board for add mode by the model's labels (matched as the engine matches them). */
export function splitForAdd(classes: FewshotClass[], labels: string[] | null, folders: string[] | null): AddSplit {
  const split: AddSplit = { fresh: [], old: [] }
  for (const cls of classes) {
    const i = labels ? labelIndex(cls.name.trim(), labels, folders ?? []) : -1
    if (i >= 0) split.old.push({ cls, label: labels![i] })
    else split.fresh.push(cls)
  }
  return split
}
