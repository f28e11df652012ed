import { Worker } from 'node:worker_threads'

type Reply = { id: number, result: unknown } | { id: number, error: { name?: string, message: string, code?: string } }
interface Pending { resolve: (result: unknown) => void, reject: (err: Error) => void }

/**
 * A worker thread that answers requests: each request a message there with
 * its `id`, each answer one back (`{ id, result }`, or `{ id, error }` with the
 * error's name, message and code), in any order; the string `'close'` asks it
 * to end. Used to move work off the event loop (ticket signatures, SQLite's
 * reads): a message costs the event loop about 1 µs.
 *
 * The thread starts at the first request. It keeps the process alive only
 * while it owes answers. If it fails or exits, what it owed is rejected and
 * the next request starts a new one. `source` is an eval'd CommonJS worker, so
 * it runs the same from TypeScript sources (tests) and from the build.
 */
export class RequestThread {
  private worker: Worker | null = null
  private exited: Promise<void> = Promise.resolve()
  private readonly pending = new Map<number, Pending>()
  private nextId = 0
  private closed = false

  /** `name`: what the thread is, for errors ("the signing thread"). */
  constructor (private readonly source: string, private readonly name: string, private readonly workerData?: unknown) {}

  /** Sends `message` (with an `id` added) and resolves to the thread's answer. */
  request<T> (message: Record<string, unknown>): Promise<T> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error(`${this.name} is closed`))
        return
      }
      let worker: Worker
      try {
        worker = this.worker ?? this.start()
      } catch (err) {
        reject(err instanceof Error ? err : new Error(`${this.name} could not start: ${String(err)}`))
        return
      }
      const id = this.nextId++
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject })
      if (this.pending.size === 1) worker.ref()
      worker.postMessage({ ...message, id })
    })
  }

  /** Asks the thread to end once it has answered what was sent before, and waits for it. */
  async close (): Promise<void> {
    this.closed = true
    const worker = this.worker
    if (worker === null) return
    worker.ref()
    worker.postMessage('close')
    await this.exited
  }

  private start (): Worker {
    const worker = new Worker(this.source, { eval: true, workerData: this.workerData })
    this.exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
    worker.on('message', (reply: Reply) => {
      const pending = this.pending.get(reply.id)
      if (pending === undefined) return
      this.pending.delete(reply.id)
      if (this.pending.size === 0) worker.unref()
      if ('error' in reply) pending.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name ?? 'Error', code: reply.error.code }))
      else pending.resolve(reply.result)
    })
    const fail = (err: Error) => {
      if (this.worker !== worker) return
      this.worker = null
      for (const pending of this.pending.values()) pending.reject(err)
      this.pending.clear()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`${this.name} exited (${code})`)))
    // After the listeners: adding a 'message' listener references the worker again.
    worker.unref()
    this.worker = worker
    return worker
  }
}
