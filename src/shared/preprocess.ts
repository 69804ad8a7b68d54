import { z } from 'zod'
import { ApiErrorShape } from './errors'

/**
 * The preprocessing choices every call that feeds images to a model takes (cam.run, audit.run, the
 * model panel's choice), in one place. A field left out is the model's own default.
 */
export const NORMALIZATIONS = ['imagenet', 'unit', 'symmetric', 'raw'] as const
export const RESIZES = ['stretch', 'center-crop'] as const
export const CHANNEL_ORDERS = ['rgb', 'bgr'] as const
/** The largest height or width a caller may choose. */
export const MAX_SIDE = 8192

/**
 * imagenet: torchvision's mean/std on [0,1] values; unit: [0,1]; symmetric: [-1,1] (Inception,
 * many TF/Keras and GAN-era models); raw: the 0..255 pixel values as they are, for models that
 * scale them themselves (a Keras Rescaling or Normalization layer at the input, as Keras'
 * EfficientNet and ConvNeXt have).
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

/**
 * metadata: the model file states it (metascope.* entries); layer: the model's own layers say it (a
 * Keras Rescaling/Normalization layer at its input, see normalizationLayers); default: Metascope
 * assumes it, and the UI asks.
 */
const Stated = z.enum(['metadata', 'layer', 'default'])

/** The layers at a model's input whose scaling states its normalisation (source 'layer'). */
export const NormalizationLayers = z.object({
  /** Keras layer names and classes, input first, e.g. rescaling (Rescaling). */
  layers: z.array(z.object({ name: z.string(), className: z.string() })).min(1),
  /** What they do to a pixel value x (per channel when they differ), e.g. "x × 0.00392 + 0". */
  formula: z.string()
})
export type NormalizationLayers = z.infer<typeof NormalizationLayers>

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
  }),
  /** Set when source.normalization is 'layer'. */
  normalizationLayers: NormalizationLayers.optional()
})
export type ModelPreprocess = z.infer<typeof ModelPreprocess>

/** How one candidate normalisation did on the user's images (models.suggestPreprocess). */
export const NormalizationScore = z.object({
  normalization: z.enum(NORMALIZATIONS),
  /** Images the model ran on (those that could not be read are in the result's `failed`). */
  images: z.number().int(),
  /** Of those, the images whose folder names one of the model's classes. */
  labelled: z.number().int(),
  /** Top-1 accuracy on the labelled images; null when none is labelled. */
  accuracy: z.number().nullable(),
  /** Mean top-1 probability over all images: the only hint without labels (a wrong input can still be confident). */
  meanConfidence: z.number(),
  /**
   * The class predicted most often and the share of images predicted as it: a wrong scaling often
   * drives every image to one class, confidently, which mean confidence alone hides.
   */
  commonClass: z.object({ index: z.number().int(), label: z.string(), share: z.number() })
})
export type NormalizationScore = z.infer<typeof NormalizationScore>

/** models.suggestPreprocess's job result: one row per candidate, in NORMALIZATIONS order; nothing is applied. */
export const PreprocessSuggestion = z.object({
  /** 'accuracy' when some images carry a class folder label, else 'confidence'. */
  by: z.enum(['accuracy', 'confidence']),
  scores: z.array(NormalizationScore),
  /** The candidate with the best accuracy (or, without labels, mean confidence); ties keep the first. */
  best: z.enum(NORMALIZATIONS),
  /** Images that could not be read or run, each with its error naming the file. */
  failed: z.array(z.object({ file: z.string(), error: ApiErrorShape }))
})
export type PreprocessSuggestion = z.infer<typeof PreprocessSuggestion>
