import { createI18n } from 'vue-i18n'
import en from './en'
import ja from './ja'

export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'ja', name: '日本語' }
] as const
export type Language = (typeof LANGUAGES)[number]['code']

const STORAGE_KEY = 'metascope.language'

/** The saved choice, else the OS/browser locale, else English. */
export function initialLanguage(): Language {
  const saved = localStorage.getItem(STORAGE_KEY)
  if (saved === 'en' || saved === 'ja') return saved
  return navigator.language.toLowerCase().startsWith('ja') ? 'ja' : 'en'
}

export function saveLanguage(lang: Language): void {
  localStorage.setItem(STORAGE_KEY, lang)
  document.documentElement.lang = lang
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLanguage(),
  fallbackLocale: 'en',
  messages: { en, ja }
})
