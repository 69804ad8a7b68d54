import { defineStore } from 'pinia'
import { ref, watch } from 'vue'
import type { AppInfo } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { api } from '../api'
import { i18n, initialLanguage, saveLanguage, type Language } from '../i18n'
import { asError } from './errors'

export type Theme = 'system' | 'light' | 'dark'

export const useAppStore = defineStore('app', () => {
  const info = ref<AppInfo | null>(null)
  const error = ref<ApiErrorShape | null>(null)
  const transport = api.transport
  const language = ref<Language>(initialLanguage())
  const theme = ref<Theme>((localStorage.getItem('metascope.theme') as Theme | null) ?? 'system')

  watch(
    language,
    (lang) => {
      i18n.global.locale.value = lang
      saveLanguage(lang)
    },
    { immediate: true }
  )
  // The OS decides unless the user picked a theme; one data-theme attribute drives the CSS either way.
  const osDark = window.matchMedia('(prefers-color-scheme: dark)')
  const applyTheme = () => {
    const dark = theme.value === 'dark' || (theme.value === 'system' && osDark.matches)
    document.documentElement.dataset.theme = dark ? 'dark' : 'light'
  }
  osDark.addEventListener('change', applyTheme)
  watch(
    theme,
    (t) => {
      applyTheme()
      localStorage.setItem('metascope.theme', t)
    },
    { immediate: true }
  )

  async function load(): Promise<void> {
    try {
      info.value = await api.call('app.info', {})
      error.value = null
    } catch (err) {
      error.value = asError(err)
    }
  }

  return { info, error, transport, language, theme, load }
})
