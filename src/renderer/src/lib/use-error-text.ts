import { useI18n } from 'vue-i18n'
import type { ApiErrorShape } from '../../../shared/errors'
import { errorText, type FilesGiven } from './error-text'

/**
 * errorText in the current language, for lists of per-file failures (images that could not be added
 * or computed), which show each error inline rather than in an ErrorNote.
 */
export function useErrorText(): (e: ApiErrorShape, given?: FilesGiven) => string {
  const { t, te } = useI18n()
  // A key of the current language, or of English (the fallback).
  const has = (key: string) => te(key) || te(key, 'en')
  return (e, given) => errorText(e, t, has, given)
}
