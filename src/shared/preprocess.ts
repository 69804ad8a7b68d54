import { z } from 'zod'

/**
 * The preprocessing choices every call that feeds images to a model takes (cam.run, audit.run, the
 * model panel's choice), in one place. A field left out is the model's own default.
 */
export const NORMALIZATIONS = ['imagenet', 'unit', 'symmetric'] as const
export const RESIZES = ['stretch', 'center-crop'] as const
export const CHANNEL_ORDERS = ['rgb', 'bgr'] as const
/** The largest height or width a caller may choose. */
export const MAX_SIDE = 8192

/**
 * imagenet: torchvision's mean/std on [0,1] values; unit: [0,1]; symmetric: [-1,1] (Inception,
 * many TF/Keras and GAN-era models).
 */
export type Normalization = (typeof NORMALIZATIONS)[number]
export type Resize = (typeof RESIZES)[number]
/** rgb (torchvision, Keras) or bgr (Caffe and OpenCV-trained models). */
export type ChannelOrder = (typeof CHANNEL_ORDERS)[number]

/** Input size for models with dynamic height/width. */
export const InputSize = z.object({ width: z.number().int().min(1).max(MAX_SIDE), height: z.number().int().min(1).max(MAX_SIDE) }).strict()
export type InputSize = z.infer<typeof InputSize>

export const PreprocessFields = {
  normalization: z.enum(NORMALIZATIONS).optional(),
  resize: z.enum(RESIZES).optional(),
  /** Colour channel order the model takes; omitted: metadata `metascope.channel_order`, else rgb. */
  channelOrder: z.enum(CHANNEL_ORDERS).optional(),
  /** Omitted: metadata, the .npy inputs' own size, else 224x224. */
  size: InputSize.optional()
}

/** metadata: the model file states it (metascope.* entries); default: Metascope assumes it. */
const Stated = z.enum(['metadata', 'default'])

/**
 * The preprocessing a model runs with when the caller chooses nothing, as the engine works it out,
 * and which parts of it the model file states. What the file does not state is an assumption, so
 * the UI offers it as a choice rather than showing it as a fact.
 */
export const ModelPreprocess = z.object({
  /** Colour channels of the input; 1 is greyscale (channel order means nothing then). */
  channels: z.union([z.literal(1), z.literal(3)]),
  layout: z.enum(['NCHW', 'NHWC']),
  /** True when the file leaves height and width open: only then can a size be chosen. */
  dynamicSize: z.boolean(),
  normalization: z.enum(NORMALIZATIONS),
  resize: z.enum(RESIZES),
  channelOrder: z.enum(CHANNEL_ORDERS),
  size: z.object({ width: z.number().int().min(1), height: z.number().int().min(1) }),
  source: z.object({
    normalization: Stated,
    resize: Stated,
    channelOrder: Stated,
    /** shape: the input's fixed height and width; chosen: the size the model was opened at by a caller. */
    size: z.enum(['shape', 'metadata', 'default', 'chosen'])
  })
})
export type ModelPreprocess = z.infer<typeof ModelPreprocess>
