import { defineStore } from 'pinia'
import { ref, watch } from 'vue'
import type { AppInfo } from '../../../shared/api'
import type { ApiErrorShape } from '../../../shared/errors'
import { api } from '../api'
import { i18n, initialLanguage, saveLanguage, type Language } from '../i18n'
import { asError } from './errors'
import { useImagesStore } from './images'
import { useModelStore } from './model'

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

  /** Set when the engine process died: what happened, shown until dismissed. */
  const engineNotice = ref<string | null>(null)
  /** True while a restarted engine is being given back the model and images (Run waits for it). */
  const recovering = ref(false)
  api.onEvent((e) => {
    if (e.type !== 'engine.restarted') return
    engineNotice.value = e.reason
    if (e.ok) void restoreEngineState()
  })

  /** A fresh engine knows nothing: reopen the model and re-add the images the user had. */
  async function restoreEngineState(): Promise<void> {
    recovering.value = true
    try {
      const model = useModelStore()
      const images = useImagesStore()
      if (model.summary) await model.open(model.summary.path)
      const paths = images.entries.map((e) => e.path)
      if (paths.length) await images.add(paths)
    } finally {
      recovering.value = false
    }
  }

  async function load(): Promise<void> {
    try {
      info.value = await api.call('app.info', {})
      error.value = null
    } catch (err) {
      error.value = asError(err)
    }
  }

  return { info, error, transport, language, theme, engineNotice, recovering, load }
})
