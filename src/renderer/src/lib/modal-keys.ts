import { onBeforeUnmount, onMounted, ref } from 'vue'

/**
 * A modal viewer's keyboard: Escape closes, ← / → step through the set. Returns the ref to put on the
 * dialog element, which takes the focus when the modal opens.
 */
export function useModalKeys(keys: { close: () => void; previous: () => void; next: () => void }) {
  const dialog = ref<HTMLElement | null>(null)
  const onKey = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') keys.close()
    else if (e.key === 'ArrowRight') keys.next()
    else if (e.key === 'ArrowLeft') keys.previous()
  }
  onMounted(() => {
    window.addEventListener('keydown', onKey)
    dialog.value?.focus()
  })
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey))
  return dialog
}
