import { computed, onBeforeUnmount, ref, type ComputedRef, type Ref } from 'vue'

/** How far a unit under way is (Score-CAM: the masked inputs of the image being computed). */
export interface Step {
  done: number
  total: number
}

/**
 * Units done, counting the one under way by its step: 3 images and 640 of 2,048 masks is 3.3125, so
 * a bar (and the estimate) moves within an image that takes a minute. Never beyond the total.
 */
export function unitsDone(done: number, total: number, step?: Step): number {
  const within = step && step.total > 0 ? Math.min(1, Math.max(0, step.done / step.total)) : 0
  return total > 0 ? Math.min(total, done + within) : done
}

/**
 * Seconds left at the rate so far (elapsed time per unit done), rounded; null while nothing is done
 * yet (no rate to go by) or there is no total.
 */
export function secondsLeft(done: number, total: number, elapsedMs: number): number | null {
  if (!(done > 0) || !(total > 0)) return null
  return Math.max(0, Math.round((elapsedMs / 1000 / done) * (total - done)))
}

/** What the estimate needs of a piece of work; null while there is none. */
export interface Timed {
  done: number
  total: number
  step?: Step
  startedAt: number
  running: boolean
}

/** The time, ticking twice a second while the component that asked lives (for elapsed and left times). */
export function useNow(): Ref<number> {
  const now = ref(Date.now())
  const timer = setInterval(() => (now.value = Date.now()), 500)
  onBeforeUnmount(() => clearInterval(timer))
  return now
}

/**
 * The estimate every progress display shows (jobs, a workspace save), from `source`, ticking while
 * the component lives: null when there is nothing to estimate.
 */
export function useSecondsLeft(source: () => Timed | null): ComputedRef<number | null> {
  const now = useNow()
  return computed(() => {
    const s = source()
    if (!s || !s.running) return null
    return secondsLeft(unitsDone(s.done, s.total, s.step), s.total, now.value - s.startedAt)
  })
}

/** A byte count as people read it: 812 KB, 45.3 MB, 1.2 GB. */
export function byteText(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(0, Math.round(bytes / 1024))} KB`
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`
  return `${(bytes / (1024 * 1024 * 1024)).toFixed(1)} GB`
}
