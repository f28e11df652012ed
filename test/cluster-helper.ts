// RA_WORKERS in tests: the service as a node:cluster primary and its workers on one port, run as `npm start` runs it
// (scripts/server-process.ts), and which worker holds which connection (Linux /proc). The directory is set up by an
// app in this process on the same database.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import type { Test } from 'tap'
import { childrenOf, startServer, type ServerProcess } from '../scripts/server-process.js'
import { ADMIN_TOKEN, type Json } from './helper.js'
import { world, type InvitationWorld } from './routes/invitations-helper.js'

export interface Answer { status: number, body: Json }

/** One request on a connection of its own (no keep-alive), so that the primary hands it to the next worker in turn. */
export function call (url: string, method: string, pathname: string, body?: unknown, token: string = ADMIN_TOKEN): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${pathname}`, {
      method,
      agent: false,
      headers: { authorization: `Bearer ${token}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => resolve({ status: res.statusCode!, body: text && res.headers['content-type']?.includes('json') ? JSON.parse(text) as Json : text }))
    })
    req.on('error', reject)
    req.end(payload)
  })
}

/** An event stream on a connection of its own, with the client's port (to find which worker holds the other end). */
export interface RawStream { localPort: number, text: () => string, waitFor: (event: string) => Promise<void>, close: () => void }

export function stream (t: Test, url: string, sessionId: string, token: string): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    let text = ''
    const waiters: Array<() => void> = []
    const req = http.request(`${url}/v1/sessions/${sessionId}/events`, {
      agent: false,
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }
    }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream: ${res.statusCode}`))
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c; for (const wake of waiters.splice(0)) wake() })
      resolve({
        localPort: req.socket!.localPort!,
        text: () => text,
        waitFor: async (event) => {
          const deadline = Date.now() + 15_000
          while (!text.includes(`event: ${event}\n`)) {
            if (Date.now() > deadline) throw new Error(`no ${event} within 15 s; the stream had: ${text}`)
            await new Promise<void>((resolve) => { waiters.push(resolve); setTimeout(resolve, 200) })
          }
        },
        close: () => req.destroy()
      })
    })
    req.on('error', (err) => { if (!req.destroyed) reject(err) })
    req.end()
    t.teardown(() => { req.destroy() })
  })
}

/** The primary's worker processes: its children that run the server (tsx may have started an esbuild service too). */
export function workersOf (primary: number): number[] {
  return childrenOf(primary).filter((pid) => {
    try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('server.') } catch { return false }
  })
}

/** The process among `pids` that holds the server's end of the loopback TCP connection whose client port is `clientPort`. */
function holderOf (pids: number[], clientPort: number): number | undefined {
  const inodes = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1).map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length > 9 && parseInt(f[2]!.split(':')[1]!, 16) === clientPort).map((f) => f[9]!)
  return pids.find((pid) => readdirSync(`/proc/${pid}/fd`).some((fd) => {
    try { return inodes.some((inode) => readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) } catch { return false }
  }))
}

/**
 * The directory set up by an app in this process, then the service with RA_WORKERS=2 on the same database: `database`
 * names it (RA_DATABASE_URL), or it is a SQLite file in the test's folder.
 */
export async function twoWorkers (
  t: Test,
  extra: Record<string, string> = {},
  database: Record<string, string> = {}
): Promise<{ w: InvitationWorld, server: ServerProcess, url: string }> {
  const env = {
    RA_PUBLIC_BASE_URL: 'https://ra.example.com',
    RA_MAX_EVENT_LOOP_DELAY_MS: '0',
    RA_RATE_LIMIT_PER_MINUTE: '1000000',
    RA_REDEMPTION_RATE_LIMIT_PER_MINUTE: '100000',
    RA_REDEMPTION_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '1000000'
  }
  const dir = t.testdir()
  const w = await world(t, { ...env, RA_DATABASE_FILE: path.join(dir, 'ra.sqlite'), ...database }, dir)
  const server = startServer({ ...env, RA_DATABASE_FILE: w.config.databaseFile, ...database, RA_BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN, RA_WORKERS: '2', ...extra })
  t.teardown(async () => {
    server.kill('SIGTERM')
    await server.exit
  })
  const url = await server.url
  await ready(server)
  return { w, server, url }
}

/** Resolves once the primary says every worker serves. */
async function ready (server: ServerProcess): Promise<void> {
  const deadline = Date.now() + 60_000
  while (!/"cluster":"primary".*ticket service ready/.test(server.output())) {
    if (server.child.exitCode !== null || Date.now() > deadline) throw new Error(`the cluster did not start: ${server.output().slice(-2000)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * C1–C5 across the workers: a stream on each worker (new connections until there is one on each), then a session's
 * steps made over new connections, whichever worker takes each: both streams get every event, in order.
 */
export async function sessionEventsReachEveryWorker (t: Test, w: InvitationWorld, server: ServerProcess, url: string): Promise<void> {
  const workers = workersOf(server.child.pid!)
  t.equal(workers.length, 2, 'two worker processes')
  const { ticket } = await w.invite()
  const session = await call(url, 'POST', '/v1/redemptions', { ticket }, w.bob)
  t.equal(session.status, 201)
  const id = session.body.id as string

  // Streams on new connections until there is one on each worker (the primary hands connections out in turn).
  const streams = new Map<number, RawStream>()
  for (let i = 0; i < 20 && streams.size < 2; i++) {
    const s = await stream(t, url, id, w.bob)
    const holder = holderOf(workers, s.localPort)
    if (holder !== undefined && !streams.has(holder)) streams.set(holder, s)
    else s.close()
  }
  t.equal(streams.size, 2, 'a stream on each worker')

  // Whichever worker commits each step, one of the two streams is on the other worker.
  t.equal((await call(url, 'POST', `/v1/sessions/${id}/accept`, { confirm: true }, w.alice)).status, 200)
  const request = await call(url, 'POST', `/v1/sessions/${id}/control-requests`, undefined, w.bob)
  t.equal(request.status, 201)
  t.equal((await call(url, 'POST', `/v1/sessions/${id}/control-requests/${(request.body.controlRequest as Json).id}/grant`, undefined, w.alice)).status, 200)
  t.equal((await call(url, 'POST', `/v1/sessions/${id}/control/stop`, undefined, w.alice)).status, 200)
  for (const [pid, s] of streams) {
    await s.waitFor('control.stopped')
    const events = [...s.text().matchAll(/^event: (.+)$/gm)].map((m) => m[1])
    t.same(events, ['session.created', 'session.accepted', 'control.requested', 'control.granted', 'control.stopped'], `the stream on worker ${pid}`)
  }
}
