// npm run bench:sqlite-statements [-- create|redeem|both [requests]]: where a creation's and a redemption's time goes in
// SQLite, statement by statement. The app runs in this process on a prepared database (as `npm run bench` prepares
// it), answers the requests 50 at a time through app.inject after a warm-up, and every statement better-sqlite3 runs
// (get, all, run, and exec: BEGIN, SAVEPOINT, COMMIT…) is timed where it runs. Prints, per request: the process's CPU,
// the time spent in SQLite, and the statements by the time they took. In-process and unsampled, so it also counts
// what a profile spreads over SQLite's callers; app.inject adds its own cost to the CPU figure, not to SQLite's.
import { mkdtempSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openDatabase, type Db } from '../src/db/database.js'
import { ReaderThread } from '../src/db/reader-thread.js'
import { prepare, serviceEnv } from './run.js'

const which = process.argv[2] ?? 'both'
const count = Number(process.argv[3] ?? 5000)
const WARM_UP = 500
const AT_ONCE = 50

interface Timing { calls: number, ns: bigint }
const timings = new Map<string, Timing>()
let timing = false

/** Wraps `method` of `proto` so that each call is timed under the label `label(this, args)`. */
function timed (proto: Record<string, unknown>, method: string, label: (self: unknown, args: unknown[]) => string): void {
  const original = proto[method] as (...args: unknown[]) => unknown
  proto[method] = function (this: unknown, ...args: unknown[]) {
    if (!timing) return original.apply(this, args)
    const started = process.hrtime.bigint()
    try {
      return original.apply(this, args)
    } finally {
      const key = label(this, args)
      const entry = timings.get(key) ?? { calls: 0, ns: 0n }
      entry.calls++
      entry.ns += process.hrtime.bigint() - started
      timings.set(key, entry)
    }
  }
}

const probe = new Database(':memory:')
const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, unknown>
probe.close()
const oneLine = (sql: unknown) => String(sql).replace(/\s+/g, ' ').trim().slice(0, 120)
for (const method of ['get', 'all', 'run']) timed(statementProto, method, (self) => `${method} ${oneLine((self as { source: string }).source)}`)
timed(Database.prototype as unknown as Record<string, unknown>, 'exec', (_self, args) => `exec ${oneLine(args[0])}`)

// The service reads outside units of work on a thread of their own (src/db/reader-thread.ts), where nothing here can
// time them: this tool runs those reads in this thread instead, on a read-only connection to the same file, as the
// service did before that thread (their time then counts on the event loop, as it did).
const inline = new Map<string, Db>()
function inlineRead (reads: ReaderThread, sql: string, params: unknown[], all: boolean): unknown {
  let db = inline.get(reads.file)
  if (db === undefined) {
    db = openDatabase(reads.file, { busyTimeoutMs: reads.options.busyTimeoutMs })
    db.pragma('query_only = ON')
    inline.set(reads.file, db)
  }
  const statement = db.prepare(sql)
  return all ? statement.all(...params) : statement.get(...params)
}
ReaderThread.prototype.get = async function (this: ReaderThread, sql: string, params: unknown[]) { return inlineRead(this, sql, params, false) as never }
ReaderThread.prototype.all = async function (this: ReaderThread, sql: string, params: unknown[]) { return inlineRead(this, sql, params, true) as never }

for (const kind of which === 'both' ? ['create', 'redeem'] : [which]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ra-sqlite-statements-'))
  // prepare() keeps one of its tickets for the session it opens.
  const prepared = await prepare(dir, kind === 'redeem' ? count + WARM_UP + 1 : 2)
  const app = await buildApp(loadConfig({ ...await serviceEnv(prepared.databaseFile), RA_LOG_LEVEL: 'warn' }))
  const tickets = JSON.parse(readFileSync(prepared.ticketsFile, 'utf8')) as string[]
  let next = 0
  const one = async () => {
    const res = kind === 'redeem'
      ? await app.inject({ method: 'POST', url: '/v1/redemptions', headers: { authorization: `Bearer ${prepared.bob}` }, payload: { ticket: tickets[next++] } })
      : await app.inject({
        method: 'POST',
        url: '/v1/invitations',
        headers: { authorization: `Bearer ${prepared.alice}` },
        payload: { computer: 'CONTOSO\\PC-0042', lifetime: { value: 30, unit: 'minutes' } }
      })
    if (res.statusCode >= 300) throw new Error(`${kind}: ${res.statusCode} ${res.body}`)
  }
  for (let i = 0; i < WARM_UP; i++) await one()
  timings.clear()
  timing = true
  const cpu = process.cpuUsage()
  for (let done = 0; done < count; done += AT_ONCE) await Promise.all(Array.from({ length: Math.min(AT_ONCE, count - done) }, one))
  const used = process.cpuUsage(cpu)
  timing = false
  await app.close()
  const total = [...timings.values()].reduce((sum, e) => sum + e.ns, 0n)
  const perRequest = (ns: bigint) => (Number(ns) / 1e3 / count).toFixed(1).padStart(6)
  console.log(`\n${kind}: ${count} requests, ${AT_ONCE} at a time; per request: CPU ${((used.user + used.system) / count).toFixed(0)} µs, ` +
    `in SQLite ${perRequest(total).trim()} µs`)
  console.log('µs/request  calls/request  µs/call  statement')
  for (const [key, e] of [...timings].sort((a, b) => Number(b[1].ns - a[1].ns)).slice(0, 25)) {
    console.log(`${perRequest(e.ns)}      ${(e.calls / count).toFixed(2).padStart(6)}     ${(Number(e.ns) / 1e3 / e.calls).toFixed(1).padStart(6)}  ${key}`)
  }
}
