import type { SessionEventRow } from '../repositories/sessions-repository.js'

/** One open event stream of a session, as SessionStreams sees it. */
export interface StreamSubscriber {
  /** The id of the last event this subscriber has (0: none). */
  cursor: number
  /** Writes one event, already formatted as a server-sent event (the same frame for every stream). */
  write: (frame: EventFrame) => void
  /** Ends the stream: the session has ended and everything it stored was written. */
  end: () => void
}

/** What the streams read: a session's committed events after an id, and whether it is still live. */
export interface SessionEventSource {
  eventsAfter: (sessionId: string, afterId: number, limit: number) => Promise<SessionEventRow[]>
  isLive: (sessionId: string) => Promise<boolean>
}

interface Group {
  readonly subscribers: Set<StreamSubscriber>
  /** A read is running; `again` asks it to read once more when it is done. */
  busy: boolean
  again: boolean
  /** Whether the read after the current one must also ask whether the session is still live. */
  checkLive: boolean
}

/** Events read per query; more are read at once in further pages. */
const PAGE = 1000
/** Streams written per turn of the event loop. */
const BATCH = 500

/**
 * The live event streams of this process, grouped by session (SPEC.md C1–C5: each party sees every transition as it
 * happens). However many streams watch a session, each new event is read once, formatted once and written to all of
 * them; whether the session is still live is asked only when something happened. Events stored by this process arrive
 * through `notify`; those of other processes (SQLite) or instances whose notification was lost (PostgreSQL) are found
 * by one poll of every watched session each `pollMs`. When a session ends, its streams get its last events, then end.
 */
export class SessionStreams {
  private readonly groups = new Map<string, Group>()
  private timer: NodeJS.Timeout | undefined

  constructor (
    private readonly source: SessionEventSource,
    private readonly onError: (err: unknown) => void,
    private readonly pollMs = 1000
  ) {}

  /** How many streams are open. */
  get size (): number {
    let n = 0
    for (const group of this.groups.values()) n += group.subscribers.size
    return n
  }

  /**
   * Adds a stream of `sessionId` (the caller has checked that it may see it). What was stored after its cursor is
   * written at once (or by the session's read already running, which then reads again). Returns the function that removes it.
   */
  async subscribe (sessionId: string, subscriber: StreamSubscriber): Promise<() => void> {
    let group = this.groups.get(sessionId)
    if (group === undefined) {
      group = { subscribers: new Set(), busy: false, again: false, checkLive: false }
      this.groups.set(sessionId, group)
    }
    group.subscribers.add(subscriber)
    this.timer ??= setInterval(() => { this.poll() }, this.pollMs).unref()
    const remove = () => {
      const current = this.groups.get(sessionId)
      if (current === undefined || !current.subscribers.delete(subscriber)) return
      if (current.subscribers.size === 0) this.groups.delete(sessionId)
      if (this.groups.size === 0) this.stopPolling()
    }
    try {
      await this.flush(sessionId, group, true)
    } catch (err) {
      remove()
      throw err
    }
    return remove
  }

  /** An event of `sessionId` was stored (by this process, or another instance that told this one). */
  notify (sessionId: string): void {
    const group = this.groups.get(sessionId)
    if (group !== undefined) this.flushLogged(sessionId, group, true)
  }

  /** Ends every stream (the service is stopping). */
  close (): void {
    for (const group of this.groups.values()) {
      for (const subscriber of group.subscribers) subscriber.end()
    }
    this.groups.clear()
    this.stopPolling()
  }

  private stopPolling (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private poll (): void {
    for (const [sessionId, group] of this.groups) this.flushLogged(sessionId, group, false)
  }

  private flushLogged (sessionId: string, group: Group, checkLive: boolean): void {
    this.flush(sessionId, group, checkLive).catch(this.onError)
  }

  /**
   * Reads the group's new events once (after the lowest cursor among its streams) and writes each to the streams that
   * lack it; then, if asked or if anything was new, whether the session is still live: if not, reads what its end
   * stored with it, writes that and ends the streams. Runs once at a time per session; a call meanwhile makes it go again.
   */
  private async flush (sessionId: string, group: Group, checkLive: boolean): Promise<void> {
    group.checkLive ||= checkLive
    if (group.busy) {
      group.again = true
      return
    }
    group.busy = true
    try {
      do {
        group.again = false
        const askLive = group.checkLive
        group.checkLive = false
        const wrote = await this.deliver(sessionId, group)
        if ((askLive || wrote) && group.subscribers.size > 0 && !(await this.source.isLive(sessionId))) {
          // It may have ended after the events above were read: its last events committed with the end, write them first.
          await this.deliver(sessionId, group)
          for (const subscriber of group.subscribers) subscriber.end()
          group.subscribers.clear()
          if (this.groups.get(sessionId) === group) this.groups.delete(sessionId)
          if (this.groups.size === 0) this.stopPolling()
          return
        }
      } while (group.again && group.subscribers.size > 0)
    } finally {
      group.busy = false
    }
  }

  /** Writes the group's streams every event they lack; whether there was any. */
  private async deliver (sessionId: string, group: Group): Promise<boolean> {
    let wrote = false
    for (;;) {
      if (group.subscribers.size === 0) return wrote
      let from = Infinity
      for (const subscriber of group.subscribers) from = Math.min(from, subscriber.cursor)
      const events = await this.source.eventsAfter(sessionId, from, PAGE)
      for (const event of events) {
        const frame = new EventFrame(event)
        let written = 0
        for (const subscriber of [...group.subscribers]) {
          // A stream added while the events were read (its cursor below the read's start) would miss those between:
          // it is served by the read that its subscribe asks for (`again`), from its own cursor.
          if (subscriber.cursor >= event.id || subscriber.cursor < from) continue
          subscriber.write(frame)
          subscriber.cursor = event.id
          // What was written goes out (Node sends a response's writes at the end of the turn) while the rest is written.
          if (++written % BATCH === 0) await new Promise(setImmediate)
        }
        wrote = true
      }
      if (events.length < PAGE) return wrote
    }
  }
}

/**
 * One stored event as a server-sent event: its id, its type, and its data as one JSON line. Its bytes are made once,
 * plain and as one HTTP/1.1 chunk, and shared by every stream it is written to.
 */
export class EventFrame {
  readonly text: string
  private plain: Buffer | undefined
  private chunked: Buffer | undefined

  constructor (e: SessionEventRow) {
    const data = { type: e.type, at: e.occurred_at, actor: e.actor, ...(e.data ? JSON.parse(e.data) as object : {}) }
    this.text = `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(data)}\n\n`
  }

  /** The frame's bytes (UTF-8). */
  get bytes (): Buffer {
    this.plain ??= Buffer.from(this.text)
    return this.plain
  }

  /** The frame as one chunk of a chunked HTTP/1.1 body: its length in hex, CRLF, the bytes, CRLF. */
  get chunk (): Buffer {
    this.chunked ??= Buffer.concat([Buffer.from(`${this.bytes.length.toString(16)}\r\n`), this.bytes, Buffer.from('\r\n')])
    return this.chunked
  }
}
