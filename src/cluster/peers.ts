import cluster from 'node:cluster'
import type { Registry } from 'prom-client'

/** One worker's metrics as prom-client gives them (`Registry.getMetricsAsJSON`), for the primary to merge. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>

/**
 * What a worker of this service's cluster (RA_WORKERS, cluster/primary.ts) says to its primary, and hears from it,
 * over node:cluster's IPC channel. Every message carries `ra`, which tells it apart from anything else on the channel.
 */
export type PeerMessage =
  /** Notifications (Storage.notify) committed by a worker, as `[channel, payload]`: the primary passes them to every other worker. */
  | { ra: 'notify', batch: Array<[channel: string, payload: string]> }
  /** A worker asks for the whole service's metrics (`id` pairs the answer with the question). */
  | { ra: 'metrics', id: number }
  | { ra: 'metrics', id: number, text: string }
  | { ra: 'metrics', id: number, error: string }
  /** The primary asks a worker for its own metrics, which it answers with `own`. */
  | { ra: 'collect', id: number }
  | { ra: 'own', id: number, metrics: MetricsJson }
  /** The worker listens on RA_PORT: it serves. */
  | { ra: 'ready' }

/** The environment variable through which the primary gives each worker its place (0 … RA_WORKERS − 1); not RA_: no setting. */
export const WORKER_INDEX_ENV = 'TICKET_SERVICE_WORKER_INDEX'

export function isPeerMessage (message: unknown): message is PeerMessage {
  return typeof message === 'object' && message !== null && typeof (message as { ra?: unknown }).ra === 'string'
}

/**
 * This process as one worker of the service's cluster: its place, the notifications of the other workers, and the
 * whole service's metrics. The processes of a cluster share the database; on SQLite, where the database tells no one
 * of a commit, they tell each other through the primary, as PostgreSQL's NOTIFY does between instances.
 */
export class Peers {
  private readonly listeners = new Map<string, Array<(payload: string) => void>>()
  private readonly asked = new Map<number, { resolve: (text: string) => void, reject: (err: Error) => void }>()
  private nextId = 0
  private registry: Registry | null = null
  private pending: Array<[channel: string, payload: string]> = []

  private constructor (
    /** 0 for the first worker, which alone runs the background work that must run once (Storage.exclusively on SQLite). */
    readonly index: number
  ) {
    process.on('disconnect', () => {
      for (const waiting of this.asked.values()) waiting.reject(new Error('the cluster\'s primary process is gone'))
      this.asked.clear()
    })
    process.on('message', (message: unknown) => {
      if (!isPeerMessage(message)) return
      if (message.ra === 'notify') {
        for (const [channel, payload] of message.batch) for (const fn of this.listeners.get(channel) ?? []) fn(payload)
      } else if (message.ra === 'collect') {
        const own = this.registry === null ? Promise.resolve([]) : this.registry.getMetricsAsJSON()
        own.then((metrics) => this.send({ ra: 'own', id: message.id, metrics }), () => this.send({ ra: 'own', id: message.id, metrics: [] }))
      } else if (message.ra === 'metrics' && ('text' in message || 'error' in message)) {
        const waiting = this.asked.get(message.id)
        if (waiting === undefined) return
        this.asked.delete(message.id)
        if ('text' in message) waiting.resolve(message.text)
        else waiting.reject(new Error(message.error))
      }
    })
  }

  private static current: Peers | null | undefined

  /** This process's peers when it is a worker of the service's cluster; null otherwise (one process serves). */
  static ofThisProcess (): Peers | null {
    if (Peers.current === undefined) {
      const index = Number(process.env[WORKER_INDEX_ENV])
      Peers.current = cluster.isWorker && Number.isInteger(index) && index >= 0 ? new Peers(index) : null
    }
    return Peers.current
  }

  /**
   * Tells the other workers (never this one: it has told its own listeners already). What is published in one turn
   * of the event loop goes in one message, as PostgreSQL's notifications go in one statement. Lost if the primary is
   * gone: the streams' poll finds the events then.
   */
  publish (channel: string, payload: string): void {
    if (this.pending.length === 0) {
      setImmediate(() => {
        const batch = this.pending
        this.pending = []
        this.send({ ra: 'notify', batch })
      })
    }
    this.pending.push([channel, payload])
  }

  /** Calls `fn` with the payload of every notification on `channel` that another worker publishes. */
  subscribe (channel: string, fn: (payload: string) => void): void {
    this.listeners.set(channel, [...this.listeners.get(channel) ?? [], fn])
  }

  /** Tells the primary that this worker serves. */
  ready (): void {
    this.send({ ra: 'ready' })
  }

  /** What this worker answers when the primary gathers the service's metrics. */
  shareMetrics (registry: Registry): void {
    this.registry = registry
  }

  /** Every serving worker's metrics, merged by the primary (see cluster/primary.ts). */
  metrics (): Promise<string> {
    if (!process.connected) return Promise.reject(new Error('the cluster\'s primary process is gone'))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.asked.set(id, { resolve, reject })
      this.send({ ra: 'metrics', id })
    })
  }

  private send (message: PeerMessage): void {
    if (process.connected) process.send!(message)
  }
}
