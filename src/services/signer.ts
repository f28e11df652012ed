import type { KeyObject } from 'node:crypto'
import { RequestThread } from '../request-thread.js'

/**
 * Ed25519 signatures made on a worker thread of the process's own, beside the
 * event loop: each a message there and one back (RequestThread).
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
 * One thread per process, shared by every app built in it. If it fails, what
 * it owed is rejected (the request fails, nothing is stored) and the next
 * signature starts a new thread.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { sign } = require('node:crypto')
parentPort.on('message', (m) => {
  if (m === 'close') return parentPort.close()
  try {
    parentPort.postMessage({ id: m.id, result: sign(null, Buffer.from(m.input), m.key).toString('base64url') })
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: { name: err && err.name, message: String(err && err.message), code: err && err.code } })
  }
})
`

export class Signer {
  private readonly thread: RequestThread

  /** `source`: the worker's code (tests give one that fails on purpose). */
  constructor (source = WORKER_SOURCE) {
    this.thread = new RequestThread(source, 'the signing thread')
  }

  /** The base64url Ed25519 signature of `input` (UTF-8) with `key`. */
  sign (input: string, key: KeyObject): Promise<string> {
    return this.thread.request({ input, key })
  }
}

let signing: Signer | undefined

/** The process's signing thread (see Signer). */
export function signer (): Signer {
  signing ??= new Signer()
  return signing
}
