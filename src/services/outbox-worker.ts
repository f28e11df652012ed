import { EventEmitter } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'

/**
 * Runs the outbox in this process: on a timer, and at once when something is
 * queued. One run at a time; a kick during a run makes it go round again.
 * The table is the truth, so several processes may each run one. Emits
 * `run` after each run (what it did is in the table).
 */
export class OutboxWorker extends EventEmitter<{ run: [] }> {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | null = null
  private again = false
  private stopped = false

  constructor (
    private readonly run: () => Promise<number>,
    private readonly pollMs: number,
    private readonly log: Pick<FastifyBaseLogger, 'error'>,
    /** What a run is, as its failures are logged. */
    private readonly what = 'outbox run'
  ) {
    super()
  }

  start (): void {
    this.timer = setInterval(() => this.kick(), this.pollMs)
    this.timer.unref()
    this.kick()
  }

  kick (): void {
    if (this.stopped) return
    if (this.running) {
      this.again = true
      return
    }
    this.running = (async () => {
      do {
        this.again = false
        try {
          await this.run()
        } catch (err) {
          this.log.error({ err }, `${this.what} failed`)
        }
        this.emit('run')
      } while (this.again && !this.stopped)
    })().finally(() => { this.running = null })
  }

  /** Resolves when no run is in progress. */
  async idle (): Promise<void> {
    while (this.running) await this.running
  }

  /** Stops the timer and waits for the send in progress (its outcome is recorded). */
  async stop (): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    await this.idle()
  }
}
