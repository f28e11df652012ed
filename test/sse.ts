// A server-sent event stream read the way a browser's EventSource would: frames parsed as they arrive.
import type { Json } from './helper.js'

export interface SseEvent { id: string, event: string, data: Json, at: number }

export interface OpenStream {
  /** Every event received so far, in order (`at`: when it arrived, ms since 1970). */
  events: SseEvent[]
  /** Whether the server ended the stream. */
  ended: () => boolean
  /** Resolves once `predicate` holds for what arrived (checked as frames come in), or throws after 15 s saying what came. */
  waitFor: (predicate: () => boolean, what: string) => Promise<void>
  /** Disconnects (as a client going away) and waits for the reader to stop. */
  close: () => Promise<void>
}

/** Opens `url` as an event stream with a bearer token, resuming after `lastEventId` when given; throws on a non-200 answer. */
export async function openStream (url: string, token: string, lastEventId?: string): Promise<OpenStream> {
  const controller = new AbortController()
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    signal: controller.signal
  })
  if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`)
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const events: SseEvent[] = []
  const waiters = new Set<() => void>()
  let buffer = ''
  let ended = false
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }))
      if (done) {
        ended = true
        for (const wake of waiters) wake()
        return
      }
      buffer += decoder.decode(value, { stream: true })
      let cut
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, cut)
        buffer = buffer.slice(cut + 2)
        const fields = Object.fromEntries(frame.split('\n').filter((l) => !l.startsWith(':') && l.includes(':'))
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trimStart()]))
        if (fields['id']) events.push({ id: fields['id'], event: fields['event'] ?? 'message', data: JSON.parse(fields['data'] ?? 'null'), at: Date.now() })
      }
      for (const wake of waiters) wake()
    }
  })()
  const waitFor = async (predicate: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + 15_000
    while (!predicate()) {
      if (ended || Date.now() > deadline) {
        throw new Error(`stream: ${what} never came (got ${events.map((e) => e.event).join(', ') || 'nothing'}${ended ? ', then the end' : ''})`)
      }
      await new Promise<void>((resolve) => {
        const wake = () => { waiters.delete(wake); clearTimeout(timer); resolve() }
        const timer = setTimeout(wake, 100)
        waiters.add(wake)
      })
    }
  }
  return { events, waitFor, ended: () => ended, close: async () => { controller.abort(); await pump } }
}
