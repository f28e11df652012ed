// The statements this process sends to PostgreSQL, as the pg driver sends them: for bench:statements and the
// tests that hold a request to its round trips (on PostgreSQL each statement is one).
import pg from 'pg'

export interface StatementRecorder {
  /** The text of each statement sent while recording, whitespace collapsed, in the order sent. */
  readonly sent: string[]
  /** Whether statements are recorded now (on from the start). */
  recording: boolean
  /** Puts the driver back as it was. */
  restore: () => void
}

/** Wraps `pg.Client.prototype.query` (every pool's clients use it) to record what is sent; `restore` unwraps it. */
export function recordStatements (): StatementRecorder {
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown
  const recorder: StatementRecorder = {
    sent: [],
    recording: true,
    restore: () => { pg.Client.prototype.query = query as typeof pg.Client.prototype.query }
  }
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text
    if (recorder.recording) recorder.sent.push(String(text).replace(/\s+/g, ' '))
    return query.apply(this, args)
  } as typeof pg.Client.prototype.query
  return recorder
}
