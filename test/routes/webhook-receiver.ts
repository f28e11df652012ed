import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { Webhook } from 'standardwebhooks'
import { WEBHOOK_EVENT_TYPES } from '../../src/domain/webhooks.js'
import type { Json, TestApp } from '../helper.js'

/** Fast retries and polling, http to loopback (the receiver runs here). */
export const FAST = {
  RA_WEBHOOKS_ALLOW_HTTP: 'true',
  RA_WEBHOOK_RETRY_BASE_MS: '50',
  RA_DELIVERY_POLL_MS: '20',
  RA_WEBHOOK_TIMEOUT_MS: '2000'
}

export interface Received {
  headers: http.IncomingHttpHeaders
  body: string
  payload: Json
}

/**
 * A webhook receiver on loopback. `answer` decides each response (200 by default); every request is kept,
 * and those whose signature verifies with `secret` (the standardwebhooks package) are in `verified`.
 */
export class Receiver {
  readonly all: Received[] = []
  readonly verified: Received[] = []
  secrets: string[] = []
  answer: (r: Received, res: http.ServerResponse) => void = (_r, res) => { res.writeHead(200).end('ok') }
  private waiters: Array<() => void> = []
  readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const received = { headers: req.headers, body, payload: JSON.parse(body) }
      this.all.push(received)
      const headers = {
        'webhook-id': String(req.headers['webhook-id']),
        'webhook-timestamp': String(req.headers['webhook-timestamp']),
        'webhook-signature': String(req.headers['webhook-signature'])
      }
      if (this.secrets.some((s) => { try { new Webhook(s).verify(body, headers); return true } catch { return false } })) this.verified.push(received)
      this.answer(received, res)
      for (const w of this.waiters.splice(0)) w()
    })
  })

  async listen (port = 0): Promise<string> {
    this.server.listen(port, '127.0.0.1')
    await once(this.server, 'listening')
    return this.url
  }

  get url (): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`
  }

  async close (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise((resolve) => this.server.close(resolve))
  }

  /** Waits until `predicate` holds over what was received (at most `ms`). */
  async until (predicate: () => boolean, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`receiver: timed out; got ${this.all.map((r) => r.payload.type).join(', ')}`)
      await new Promise<void>((resolve) => { this.waiters.push(resolve); setTimeout(resolve, 50) })
    }
  }
}

export async function receiver (t: Test): Promise<Receiver> {
  const r = new Receiver()
  await r.listen()
  t.teardown(() => r.close())
  return r
}

export async function subscribe (
  w: Pick<TestApp, 'call'>, url: string, events: readonly string[] = WEBHOOK_EVENT_TYPES, token?: string
): Promise<{ webhook: Json, secret: string }> {
  const res = await w.call('POST', '/v1/webhooks', { url, events }, token)
  if (res.statusCode !== 201) throw new Error(`subscribe: ${res.statusCode} ${res.body}`)
  return res.json()
}
