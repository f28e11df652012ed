import { Clock } from 'clock-mock'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { buildApp, serverOptions } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
import { engineEnv } from './engine.js'
import { existsSync } from 'node:fs'
import Database from 'better-sqlite3'
import pg from 'pg'

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdefghijklmnop'

export interface TestApp {
  app: FastifyInstance
  config: Config
  /** Every log line the app wrote, as text (to search for secrets). */
  logs: string[]
  /** A JSON request with the given bearer token (the administrator's by default). */
  call: (method: string, url: string, body?: unknown, token?: string | null) => Promise<LightMyRequestResponse>
}

export function testConfig (dir: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    RA_DATABASE_FILE: path.join(dir, 'ra.sqlite'),
    RA_BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN,
    RA_LOG_LEVEL: 'info',
    // These machines are shared and noisy: load shedding is tested on its own, not left to chance elsewhere.
    RA_MAX_EVENT_LOOP_DELAY_MS: '0',
    // Likewise the rate limits: tests that race hundreds of requests are not about them; test/routes/hardening.test.ts is.
    RA_RATE_LIMIT_PER_MINUTE: '1000000',
    RA_REDEMPTION_RATE_LIMIT_PER_MINUTE: '100000',
    RA_REDEMPTION_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '1000000',
    ...env
  })
}

/** A real app on a real database (a SQLite file in a fresh folder, or PostgreSQL: see test/engine.ts), closed when the test ends. */
export async function build (t: Test, env: Record<string, string> = {}, dir?: string): Promise<TestApp> {
  // Registered before the test folder is made, so the app (and its outbox, which may be writing
  // .eml files there) is closed before tap removes the folder.
  // eslint-disable-next-line prefer-const -- assigned once the app is built, after the teardown that reads it
  let app: FastifyInstance | undefined
  const logs: string[] = []
  // The service's own timers (the outboxes' polls and retries, the pressure monitor, the sweeps) are unreferenced,
  // so that they never hold a process open: in production the listening server does. Here nothing listens, so while
  // the app is open this timer stands in for the server; a test waiting on one of those timers would end unfinished.
  const serving = setInterval(() => {}, 60_000)
  t.teardown(async () => {
    clearInterval(serving)
    if (!app) return
    await app.close()
    assertNoSecrets(logs.join('\n'), `logs of ${t.fullname}`)
    assertNoSecrets(await auditTrail(config), `audit trail of ${t.fullname}`)
  })
  const folder = dir ?? t.testdir()
  const config = testConfig(folder, { ...await engineEnv(folder), ...env })
  const stream = new Writable({ write (chunk, _enc, done) { logs.push(String(chunk)); done() } })
  const base = serverOptions(config)
  const built = await buildApp(config, { logger: { ...(base.logger as object), stream } })
  app = built
  await built.ready()
  const call: TestApp['call'] = (method, url, body, token = ADMIN_TOKEN) => built.inject({
    method: method as 'GET',
    url,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { payload: body as object })
  })
  return { app: built, config, logs, call }
}

/** A small directory: two domains (FABRIKAM trusts CONTOSO), users, nested groups, a computer. */
export const SAMPLE_DIRECTORY = {
  domains: [
    { name: 'CONTOSO', dnsName: 'contoso.com' },
    { name: 'FABRIKAM', dnsName: 'fabrikam.com', trusts: ['CONTOSO'] }
  ],
  users: [
    { name: 'CONTOSO\\alice', displayName: 'Alice Novice', email: 'alice@contoso.com' },
    { name: 'CONTOSO\\bob', displayName: 'Bob Expert', email: 'bob@contoso.com' },
    { name: 'FABRIKAM\\carol', displayName: 'Carol', email: 'carol@fabrikam.com', enabled: false }
  ],
  groups: [
    { name: 'CONTOSO\\Helpdesk', members: ['CONTOSO\\bob', 'CONTOSO\\Tier2'] },
    { name: 'CONTOSO\\Tier2', members: [] }
  ],
  computers: [
    {
      name: 'CONTOSO\\PC-0042',
      platform: 'xp-pro-sp2',
      dcomEnabled: 'Y',
      users: ['CONTOSO\\alice'],
      localAdministrators: ['CONTOSO\\Helpdesk'],
      firewall: {
        domain: {
          programExceptions: ['%WINDIR%\\PCHealth\\HelpCtr\\Binaries\\Helpctr.exe:*:Enabled:Remote Assistance – Windows Messenger and Voice'],
          portExceptions: ['135:TCP:*:Enabled:Offer Remote Assistance']
        }
      },
      controlPanel: { remoteAssistanceEnabled: true, allowRemoteControl: true, maxInvitationTime: { value: 30, unit: 'days' } }
    }
  ]
} as const

/** The error `fn` throws (fails the caller's assertion by returning undefined when it does not throw). */
export function thrown (fn: () => unknown): Error | undefined {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  return undefined
}

export type Json = any

/** Every item of a list route, following `nextCursor`. */
export async function listAll (call: TestApp['call'], path: string, limit = 500): Promise<Json[]> {
  const items: Json[] = []
  let cursor: string | null = null
  for (let pages = 0; pages < 1000; pages++) {
    const sep = path.includes('?') ? '&' : '?'
    const url = `${path}${sep}limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`
    const res = await call('GET', url)
    if (res.statusCode !== 200) throw new Error(`GET ${url} answered ${res.statusCode}: ${res.body}`)
    const page = res.json()
    items.push(...page.items)
    cursor = page.nextCursor
    if (cursor === null) return items
  }
  throw new Error(`${path}: paging never ended`)
}

/** Everything the directory holds, plus the whole audit trail. */
export async function snapshot (call: TestApp['call']): Promise<Record<string, Json[]>> {
  return {
    domains: await listAll(call, '/v1/domains'),
    users: await listAll(call, '/v1/users'),
    groups: await listAll(call, '/v1/groups'),
    computers: await listAll(call, '/v1/computers'),
    audit: await listAll(call, '/v1/audit-events')
  }
}

/**
 * Runs `fn` with the time set to `at` (ms since 1970) by a fake clock: Date,
 * timers and performance.now are faked, but setImmediate stays real, because
 * request bodies are read through it and would otherwise wait for a tick.
 */
export async function atTime<T> (at: number, fn: (clock: Clock) => Promise<T>): Promise<T> {
  const clock = new Clock()
  clock.travel(at)
  const { setImmediate: immediate, clearImmediate: clear } = globalThis
  clock.enter()
  globalThis.setImmediate = immediate
  globalThis.clearImmediate = clear
  try {
    return await fn(clock)
  } finally {
    clock.exit()
  }
}

/**
 * The shapes of every secret the service handles: API tokens (and the test's
 * administrator token), tickets (compact JWS), the passwords and SMTP
 * credentials the tests use, webhook signing secrets. Every app the suite builds is searched for them,
 * in its captured logs and its audit trail, when the test ends.
 */
const SECRET_PATTERNS: RegExp[] = [
  /ra_[A-Za-z0-9_-]{43}/,
  new RegExp(ADMIN_TOKEN),
  /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}/,
  /Password1|S3cr3t|an-encryption-secret-of-at-least-32-chars/,
  /whsec_[A-Za-z0-9+/=]{20,}/
]

export function assertNoSecrets (text: string, where: string): void {
  for (const pattern of SECRET_PATTERNS) {
    const found = pattern.exec(text)
    if (found) throw new Error(`a secret (${pattern}) appears in the ${where}: …${text.slice(Math.max(0, found.index - 60), found.index + 20)}…`)
  }
}

/**
 * The whole audit trail as text, read after the app closed; a database that can't be read fails the test
 * (no test needs to opt out: even those that break a table on purpose leave the audit trail readable).
 */
async function auditTrail (config: Config): Promise<string> {
  let rows: unknown[]
  if (config.databaseUrl !== undefined) {
    const client = new pg.Client({ connectionString: config.databaseUrl })
    await client.connect()
    try {
      rows = (await client.query('SELECT * FROM audit_events')).rows
    } finally {
      await client.end()
    }
  } else {
    if (!existsSync(config.databaseFile)) return ''
    const db = new Database(config.databaseFile, { readonly: true, fileMustExist: true })
    try {
      rows = db.prepare('SELECT * FROM audit_events').all()
    } finally {
      db.close()
    }
  }
  return rows.map((r) => JSON.stringify(r)).join('\n')
}

/**
 * Runs SQL on the app's database from outside the service (another connection), as an operator or a fault
 * would: on SQLite without blocking the event loop while the service holds the write lock (it commits at the
 * end of the turn), on PostgreSQL through a connection of its own.
 */
export async function outsideSql (config: Config, sql: string, ...params: unknown[]): Promise<void> {
  if (config.databaseUrl !== undefined) {
    const client = new pg.Client({ connectionString: config.databaseUrl })
    await client.connect()
    try {
      let n = 0
      await client.query(sql.replace(/\?/g, () => `$${++n}`), params)
    } finally {
      await client.end()
    }
    return
  }
  const db = new Database(config.databaseFile, { timeout: 0 })
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        if (params.length > 0) db.prepare(sql).run(...params)
        else db.exec(sql)
        return
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_BUSY' || attempt > 500) throw err
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    }
  } finally {
    db.close()
  }
}

/** Rows read from the app's database by another connection (committed data only), on either engine. */
export async function outsideRows<T = Json> (config: Config, sql: string, ...params: unknown[]): Promise<T[]> {
  if (config.databaseUrl !== undefined) {
    const client = new pg.Client({ connectionString: config.databaseUrl })
    await client.connect()
    try {
      let n = 0
      return (await client.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as T[]
    } finally {
      await client.end()
    }
  }
  const db = new Database(config.databaseFile, { readonly: true })
  try {
    return db.prepare(sql).all(...params) as T[]
  } finally {
    db.close()
  }
}
