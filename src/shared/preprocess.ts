import { z } from 'zod'

/**
 * The preprocessing choices every call that feeds images to a model takes (cam.run, audit.run, the
 * model panel's choice), in one place. A field left out is the model's own default.
 */
export const NORMALIZATIONS = ['imagenet', 'unit', 'symmetric'] as const
export const RESIZES = ['stretch', 'center-crop'] as const
export const CHANNEL_ORDERS = ['rgb', 'bgr'] as const

/** Input size for models with dynamic height/width. */
export const InputSize = z.object({ width: z.number().int().min(1).max(8192), height: z.number().int().min(1).max(8192) }).strict()
export type InputSize = z.infer<typeof InputSize>

export const PreprocessFields = {
  normalization: z.enum(NORMALIZATIONS).optional(),
  resize: z.enum(RESIZES).optional(),
  /** Colour channel order the model takes; omitted: metadata `metascope.channel_order`, else rgb. */
  channelOrder: z.enum(CHANNEL_ORDERS).optional(),
  /** Omitted: metadata, the .npy inputs' own size, else 224x224. */
  size: InputSize.optional()
}
