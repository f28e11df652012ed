import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import ipaddr from 'ipaddr.js'
import { webhookAddressProblem } from '../domain/webhooks.js'

export interface WebhookRequest {
  url: string
  headers: Record<string, string>
  body: string
}

/** What came of one attempt: the receiver's status (and Retry-After), or why there was none. */
export type WebhookResponse =
  | { kind: 'answered', status: number, retryAfterMs: number | null, location: string | null }
  | { kind: 'refused', error: string }
  | { kind: 'unreachable', error: string }

export interface SenderOptions {
  /** Connecting, sending and the whole response. */
  timeoutMs: number
  /** Loopback receivers allowed (RA_WEBHOOKS_ALLOW_HTTP, for testing). */
  allowLoopback: boolean
  /** How much of a response is read before the connection is cut (it is not kept: only its status matters). */
  maxResponseBytes?: number
}

/** Marks an error from the address check, so that it is not mistaken for a network failure. */
class AddressRefused extends Error {}

/**
 * Posts webhook deliveries. The receiver's addresses are checked as they are
 * resolved, by the lookup the connection itself uses, so that what was checked
 * is what is connected to (a DNS answer that changes between a check and the
 * connection cannot slip through). Redirects are not followed, the response
 * is read up to a cap and dropped, and the whole exchange has a deadline.
 */
export class WebhookSender {
  private readonly maxResponseBytes: number

  constructor (private readonly options: SenderOptions) {
    this.maxResponseBytes = options.maxResponseBytes ?? 64 * 1024
  }

  /** The lookup used by each request: every address the name resolves to must pass, or none is used. */
  private readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0)
      const problem = addresses.map((a) => webhookAddressProblem(a.address, this.options.allowLoopback)).find((p) => p !== null)
      if (problem) return callback(new AddressRefused(`${hostname} resolves to a refused address: ${problem}`), '', 0)
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses)
      const first = addresses[0]
      if (!first) return callback(new Error(`${hostname} did not resolve`), '', 0)
      callback(null, first.address, first.family)
    })
  }

  /**
   * Checks where `url` resolves to now (at subscription): null when every
   * address may be sent to, or why not. A name that does not resolve is not
   * refused here (the receiver may not be up yet): it is checked at each send.
   */
  async addressProblem (url: string): Promise<string | null> {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '')
    if (ipaddr.isValid(host)) return webhookAddressProblem(host, this.options.allowLoopback)
    return await new Promise((resolve) => {
      this.lookup(host, { all: true }, (err) => {
        resolve(err instanceof AddressRefused ? err.message : null)
      })
    })
  }

  async send (request: WebhookRequest): Promise<WebhookResponse> {
    const url = new URL(request.url)
    const host = url.hostname.replace(/^\[|\]$/g, '')
    // A literal address is connected to without a lookup: checked here.
    if (ipaddr.isValid(host)) {
      const problem = webhookAddressProblem(host, this.options.allowLoopback)
      if (problem) return { kind: 'refused', error: problem }
    }
    const client = url.protocol === 'https:' ? https : http
    const body = Buffer.from(request.body)
    return await new Promise<WebhookResponse>((resolve) => {
      let settled = false
      const done = (r: WebhookResponse): void => {
        if (settled) return
        settled = true
        clearTimeout(deadline)
        req.destroy()
        resolve(r)
      }
      const req = client.request(url, {
        method: 'POST',
        headers: { ...request.headers, 'content-length': String(body.length) },
        lookup: this.lookup,
        agent: false
      }, (res) => {
        const status = res.statusCode ?? 0
        const retryAfterMs = parseRetryAfter(res.headers['retry-after'])
        const location = typeof res.headers.location === 'string' ? res.headers.location.slice(0, 500) : null
        let read = 0
        res.on('data', (chunk: Buffer) => {
          read += chunk.length
          // Enough has been read to know the answer: the rest is not wanted.
          if (read > this.maxResponseBytes) done({ kind: 'answered', status, retryAfterMs, location })
        })
        res.on('end', () => done({ kind: 'answered', status, retryAfterMs, location }))
        res.on('error', () => done({ kind: 'answered', status, retryAfterMs, location }))
      })
      const deadline = setTimeout(() => done({ kind: 'unreachable', error: `no answer within ${this.options.timeoutMs} ms` }), this.options.timeoutMs)
      req.on('error', (err) => {
        if (err instanceof AddressRefused) done({ kind: 'refused', error: err.message })
        else done({ kind: 'unreachable', error: describeNetworkError(err) })
      })
      req.end(body)
    })
  }
}

/** `Retry-After`: seconds, or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter (value: string | string[] | undefined): number | null {
  if (typeof value !== 'string' || value.trim() === '') return null
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v) * 1000
  const at = Date.parse(v)
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now())
}

function describeNetworkError (err: Error & { code?: string }): string {
  return err.code ? `${err.code}: ${err.message}` : err.message
}
