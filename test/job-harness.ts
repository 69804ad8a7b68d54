import type { ApiEvent } from '../src/shared/events'
import { Service } from '../src/main/service'

/** A Service whose events are recorded, with `until` to await the first event matching a predicate. */
export function jobHarness() {
  const events: ApiEvent[] = []
  const waiters: { pred: (e: ApiEvent) => boolean; resolve: (e: ApiEvent) => void }[] = []
  const service = new Service((e) => {
    events.push(e)
    for (const w of [...waiters]) if (w.pred(e)) {
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve(e)
    }
  })
  const until = (pred: (e: ApiEvent) => boolean) =>
    new Promise<ApiEvent>((resolve) => {
      const seen = events.find(pred)
      if (seen) resolve(seen)
      else waiters.push({ pred, resolve })
    })
  return { service, events, until }
}
