/**
 * When to start a new engine after one stopped. The server must outlive its engine, so an engine that
 * served and then died is always restarted; only the pace is limited, so a crash loop (a model that
 * crashes onnxruntime each time the UI reopens it) costs a few starts per window, not a spinning CPU.
 * An engine that dies before it ever says 'ready' several times in a row cannot start at all (a broken
 * install): it is left down with the reason, since trying again would fail the same way.
 */
export interface RestartPolicy {
  /** Starts allowed within windowMs; a later one waits until the oldest leaves the window. */
  burst: number
  windowMs: number
  /** Consecutive deaths before 'ready' after which the engine is left down. */
  startupFailures: number
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { burst: 5, windowMs: 10_000, startupFailures: 3 }

/** Milliseconds to wait before the next start, given the times of earlier restarts (oldest first). */
export function restartDelay(restarts: readonly number[], now: number, policy: RestartPolicy): number {
  const recent = restarts.filter((t) => now - t < policy.windowMs)
  if (recent.length < policy.burst) return 0
  return recent[recent.length - policy.burst] + policy.windowMs - now
}

/** How an engine ended, in words, e.g. "killed by SIGKILL" or "exit code 1". */
export function describeExit(code: number | null, signal?: string | null): string {
  return signal ? `killed by ${signal}` : `exit code ${code}`
}
