import { sign as signBytes, type KeyObject } from 'node:crypto'
import { Worker } from 'node:worker_threads'

/**
 * Ed25519 signatures made on a worker thread of the process's own, beside the
 * event loop: each a message there and one back.
 *
 * With node:crypto's callback, each signature ran on libuv's thread pool, and
 * profiled under load the call itself was 14 % of a creation's event-loop
 * time (it sets up a job and wakes a pool thread, which on two shared cores
 * takes the core from the event loop). Signing on the event loop costs about
 * 37 µs a signature and measured slower still; a message costs about 1 µs.
 * Measured against the thread pool (interleaved A/B, medians of four rounds):
 * 6,469 → 6,937 creations a second. Sending a turn's signatures together in
 * one message measured slower (each waited for the whole batch), and so did
 * two threads.
 *
 * One thread per process, shared by every app built in it; it keeps the
 * process alive only while it owes signatures. If it fails, what it owed is
 * rejected (the request fails, nothing is stored) and the next signature
 * starts a new thread.
 *
 * An eval'd CommonJS worker, so it runs the same from TypeScript sources
 * (tests) and from the build (like the checkpointer's).
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { sign } = require('node:crypto')
parentPort.on('message', ({ id, key, input }) => {
  try {
    parentPort.postMessage({ id, signature: sign(null, Buffer.from(input), key).toString('base64url') })
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message) })
  }
})
`

interface Pending { resolve: (signature: string) => void, reject: (err: Error) => void }
type Reply = { id: number, signature: string } | { id: number, error: string }

/**
 * The signing thread: its worker, started when first needed (and again after a failure), and the signatures it owes.
 * `source`: the worker's code (tests give one that fails on purpose).
 */
export class Signer {
  private worker: Worker | null = null
  private readonly pending = new Map<number, Pending>()
  private nextId = 0

  constructor (private readonly source = WORKER_SOURCE) {}

  /** The base64url Ed25519 signature of `input` (UTF-8) with `key`. */
  sign (input: string, key: KeyObject): Promise<string> {
    return new Promise((resolve, reject) => {
      let worker: Worker
      try {
        worker = this.worker ?? this.start()
      } catch {
        // No thread to be had (a resource limit): the thread pool signs it, as it did before.
        signBytes(null, Buffer.from(input), key, (err, sig) => err ? reject(err) : resolve(sig.toString('base64url')))
        return
      }
      const id = this.nextId++
      this.pending.set(id, { resolve, reject })
      if (this.pending.size === 1) worker.ref()
      worker.postMessage({ id, key, input })
    })
  }

  private start (): Worker {
    const worker = new Worker(this.source, { eval: true })
    worker.unref()
    worker.on('message', (reply: Reply) => {
      const pending = this.pending.get(reply.id)
      if (pending === undefined) return
      this.pending.delete(reply.id)
      if (this.pending.size === 0) worker.unref()
      if ('error' in reply) pending.reject(new Error(`signing failed: ${reply.error}`))
      else pending.resolve(reply.signature)
    })
    const fail = (err: Error) => {
      if (this.worker !== worker) return
      this.worker = null
      for (const pending of this.pending.values()) pending.reject(err)
      this.pending.clear()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`the signing thread exited (${code})`)))
    this.worker = worker
    return worker
  }
}

let signing: Signer | undefined

/** The process's signing thread (see Signer). */
export function signer (): Signer {
  signing ??= new Signer()
  return signing
}
