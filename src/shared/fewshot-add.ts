import { z } from 'zod'

/**
 * What fewshot.adapt reports in add mode (mode 'add': the model's classes kept, the new ones added
 * by weight imprinting; docs/fewshot-adapt.md, "Adding classes"). Part of AdaptReport.
 */
const Scored = z.object({ index: z.number(), label: z.string(), probability: z.number() })

/** One image of an old class: the original model's prediction and the adapted model's, over all labels. */
export const OldClassPrediction = z.object({ file: z.string(), trueClass: z.string(), before: Scored, after: Scored, correctBefore: z.boolean(), correctAfter: z.boolean() })
export type OldClassPrediction = z.infer<typeof OldClassPrediction>

export const AddClassesReport = z.object({
  /** The model's classes, kept unchanged as the first rows of the written head. */
  oldLabels: z.array(z.string()),
  /** The written model's labels: the old ones, then the new classes. */
  labels: z.array(z.string()),
  /** The length every new row was imprinted with: the mean L2 norm of the old rows. */
  rowScale: z.number(),
  /** The query images of the new classes, classified among all labels (the report's accuracyAfter). */
  newAccuracy: z.number(),
  /** Images of old classes the caller gave (oldDir / oldClasses): accuracy of the original model and of the adapted one; null without them. */
  old: z
    .object({
      images: z.number(),
      accuracyBefore: z.number(),
      accuracyAfter: z.number(),
      classes: z.array(z.object({ name: z.string(), label: z.string(), images: z.number(), accuracyBefore: z.number(), accuracyAfter: z.number() })),
      predictions: z.array(OldClassPrediction)
    })
    .nullable(),
  /**
   * A proxy that needs no old-class images, on the query images: the original model puts each in
   * one of its classes; `kept` counts those the adapted model leaves in that same class (the old rows
   * are unchanged, so an image can only leave it for a new class). All query images are of new
   * classes, so this measures how readily the new rows take images from the old classes, not
   * old-class accuracy.
   */
  proxy: z.object({ images: z.number(), kept: z.number(), toTrueClass: z.number(), toOtherNewClass: z.number(), agreement: z.number() })
})
export type AddClassesReport = z.infer<typeof AddClassesReport>
