// npm run bench [-- --engine sqlite|postgres|both]: the real service and a baseline fastify server, each driven
// by autocannon in its own process (50 connections, warm-up, then the measured run); prints the table and writes
// bench/results.md. The service runs on each engine asked for (default both): SQLite first, measured as it always
// was, then PostgreSQL on an embedded server the bench starts afterwards (and removes with its data at the end).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { startPostgres } from '../scripts/embedded-postgres.js'
import { childrenOf, cpuShares, cpuSnapshot, type CpuShares } from './cpu.js'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { projectRoot } from '../src/paths.js'

export const ADMIN = 'bench-admin-token-0123456789abcdefghijklmnop'
/** Tickets are minted before the service starts on its own port: both must name the same issuer. */
const PUBLIC_BASE_URL = 'http://127.0.0.1:8080'
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 50)
const WARMUP_S = Number(process.env['BENCH_WARMUP_S'] ?? 3)
const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? 10)
/**
 * Tickets prepared for the redemption rows, per engine: more than the warm-up and the measured run redeem (each
 * redemption spends one). SQLite redeems 2,000-4,000 a second in one process here, more with RA_WORKERS; PostgreSQL
 * a few hundred. BENCH_TICKETS sets both.
 */
const TICKETS = {
  sqlite: Number(process.env['BENCH_TICKETS'] ?? 150_000),
  postgres: Number(process.env['BENCH_TICKETS'] ?? 40_000)
}
/** Also measured: this many service processes (instances) on one database, on each engine (1: not measured). */
const INSTANCES = Number(process.env['BENCH_INSTANCES'] ?? 2)
/** The service's PostgreSQL connections (RA_DATABASE_POOL_SIZE; 10 is the service's default). */
const PG_POOL_SIZE = Number(process.env['BENCH_PG_POOL_SIZE'] ?? 10)
/** The service talks to PostgreSQL over its Unix socket, not TCP (see `overSocket`). */
const PG_SOCKET = process.env['BENCH_PG_SOCKET'] === '1'
/** Where the embedded server puts its socket (its build's default). */
const PG_SOCKET_DIR = '/tmp'

export interface Row {
  name: string
  rps: number
  p50: number
  p99: number
  errors: number
  non2xx: number
  total: number
  engine?: string
  /** Redemptions that had to reuse a ticket (the prepared ones ran out): the row's non-2xx include them. */
  ticketsReused?: number
  /** Where the machine's CPU went during the run (warm-up included). */
  cpu?: CpuShares | null
  /** The requests/s of the baseline measured just before this row's group, which its ratio is to. */
  baselineRps?: number
  /**
   * SQLite: shares of the run's time (warm-up included) that the file's write lock was held (summed over the
   * processes) and that a process waited for it (their mean), from their ra_sqlite_write_lock_* counters.
   */
  writeLock?: { held: number, waited: number } | null
  /** PostgreSQL: units and statements the service ran again (or failed) after a deadlock or a serialisation failure. */
  conflicts?: number
}

/**
 * A service's ra_sqlite_write_lock_* counters (seconds), from its /metrics, null on PostgreSQL; and on PostgreSQL the work
 * it ran again or failed after a deadlock or a serialisation failure (ra_postgres_conflict_retries_total), null on SQLite.
 */
async function storageCounters (url: string): Promise<{ writeLock: { held: number, waited: number } | null, conflicts: number | null }> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })
  if (!res.ok) throw new Error(`GET /metrics: ${res.status}`)
  const text = await res.text()
  const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN)
  const held = value('ra_sqlite_write_lock_held_seconds_total')
  const conflicts = value('ra_postgres_conflict_retries_total{outcome="retried"}') + value('ra_postgres_conflict_retries_total{outcome="failed"}')
  return {
    writeLock: Number.isNaN(held) ? null : { held, waited: value('ra_sqlite_write_lock_wait_seconds_total') },
    conflicts: Number.isNaN(conflicts) ? null : conflicts
  }
}

/** Starts a server process; resolves once it says where it listens (and, with `ready`, once its output also matches that). */
export function startProcess (args: string[], env: Record<string, string>, ready?: RegExp): Promise<{ child: ChildProcess, url: string }> {
  const child = spawn(process.execPath, args, { cwd: projectRoot, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      const m = /(?:Server listening at|LISTENING) (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m && (ready === undefined || ready.test(out))) {
        child.stdout!.removeAllListeners('data')
        child.stderr!.removeAllListeners('data')
        child.stdout!.resume()
        child.stderr!.resume()
        resolve({ child, url: m[1]! })
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out.slice(-800)}`)))
  })
}

export function load (job: Record<string, unknown>): Promise<Omit<Row, 'name'>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      '--import', 'tsx', path.join(projectRoot, 'bench', 'load.ts'),
      JSON.stringify({ connections: CONNECTIONS, warmupS: WARMUP_S, durationS: DURATION_S, ...job })
    ], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (c) => { out += c })
    child.once('exit', (code) => code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`load exited ${code}`)))
  })
}

/**
 * A fresh database — the SQLite file in `dir`, or the empty PostgreSQL database at `databaseUrl` —
 * with a directory, tokens, tickets for redemption and one session.
 */
export async function prepare (
  dir: string,
  tickets: number,
  databaseUrl?: string
): Promise<{ databaseFile: string, databaseUrl?: string, alice: string, bob: string, ticketsFile: string, sessionId: string }> {
  const databaseFile = path.join(dir, 'ra.sqlite')
  const app = await buildApp(loadConfig({
    RA_DATABASE_FILE: databaseFile,
    ...postgresEnv(databaseUrl),
    RA_BOOTSTRAP_ADMIN_TOKEN: ADMIN,
    RA_LOG_LEVEL: 'error',
    RA_PUBLIC_BASE_URL: PUBLIC_BASE_URL
  }))
  const admin = { authorization: `Bearer ${ADMIN}` }
  await app.inject({
    method: 'POST',
    url: '/v1/directory/import',
    headers: admin,
    payload: {
      domains: [{ name: 'CONTOSO' }],
      users: [{ name: 'CONTOSO\\alice' }, { name: 'CONTOSO\\bob' }],
      computers: [{ name: 'CONTOSO\\PC-0042', platform: 'windows-10', users: ['CONTOSO\\alice'] }]
    }
  })
  const token = async (user: string) => (await app.inject({
    method: 'POST',
    url: '/v1/tokens',
    headers: admin,
    payload: { principal: { type: 'user', user } }
  })).json().token as string
  const alice = await token('CONTOSO\\alice')
  const bob = await token('CONTOSO\\bob')
  const caller = { principal: await app.services.tokens.authenticate(`Bearer ${alice}`), ctx: { actor: 'CONTOSO\\alice', actorTokenId: null, requestId: null } }
  if (!caller.principal.ok) throw new Error('alice cannot authenticate')
  const principal = caller.principal.principal
  const list: string[] = []
  // Many at once: on SQLite they share commits (group commit); on PostgreSQL, where each commit waits on its own round trips,
  // as many as the pool runs at once.
  let started = 0
  await Promise.all(Array.from({ length: databaseUrl === undefined ? 50 : Math.max(1, PG_POOL_SIZE - 1) }, async () => {
    while (started++ < tickets) {
      const { ticket } = await app.services.invitations.create({ computer: 'CONTOSO\\PC-0042' }, { principal, ctx: caller.ctx })
      list.push(ticket)
    }
  }))
  const sessionTicket = list.pop()!
  const session = await app.inject({ method: 'POST', url: '/v1/redemptions', headers: { authorization: `Bearer ${bob}` }, payload: { ticket: sessionTicket } })
  if (session.statusCode !== 201) throw new Error(`preparing the session: ${session.body}`)
  await app.close()
  const ticketsFile = path.join(dir, 'tickets.json')
  writeFileSync(ticketsFile, JSON.stringify(list))
  return { databaseFile, ...(databaseUrl !== undefined ? { databaseUrl } : {}), alice, bob, ticketsFile, sessionId: session.json().id }
}

/** Selects PostgreSQL (with the bench's pool size) when there is a URL; nothing (SQLite) otherwise. */
function postgresEnv (databaseUrl: string | undefined): Record<string, string> {
  return databaseUrl === undefined ? {} : { RA_DATABASE_URL: overSocket(databaseUrl), RA_DATABASE_POOL_SIZE: String(PG_POOL_SIZE) }
}

/**
 * With BENCH_PG_SOCKET=1, the service reaches the bench's PostgreSQL through its Unix socket (in /tmp) instead of
 * TCP on loopback: on loopback the sender's write runs the receiving side's TCP processing too.
 */
function overSocket (databaseUrl: string): string {
  if (!PG_SOCKET) return databaseUrl
  const url = new URL(databaseUrl)
  url.searchParams.set('host', PG_SOCKET_DIR)
  return url.toString()
}

export async function serviceEnv (databaseFile: string, databaseUrl?: string): Promise<Record<string, string>> {
  return {
    RA_DATABASE_FILE: databaseFile,
    ...postgresEnv(databaseUrl),
    RA_PORT: '0',
    RA_PUBLIC_BASE_URL: PUBLIC_BASE_URL,
    RA_BOOTSTRAP_ADMIN_TOKEN: ADMIN,
    RA_LOG_LEVEL: 'info',
    // The limits protect against floods; the benchmark is one.
    RA_RATE_LIMIT_PER_MINUTE: '1000000',
    RA_REDEMPTION_RATE_LIMIT_PER_MINUTE: '100000',
    RA_REDEMPTION_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '1000000',
    RA_DELIVERY_POLL_MS: '600000'
  }
}

/** The service's peak resident memory so far (Linux: VmHWM), in bytes; null where /proc is not there. */
function peakRss (pid: number | undefined): number | null {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb === undefined ? null : Number(kb) * 1024
  } catch {
    return null
  }
}

export async function measureService (
  prepared: Awaited<ReturnType<typeof prepare>>,
  endpoints: Array<'create' | 'redeem' | 'session'> = ['create', 'redeem', 'session'],
  redeemCount?: { warmup: number, measured: number },
  instances = 1,
  workers = 1
): Promise<{ rows: Row[], peakRssBytes: number | null }> {
  // Several instances: service processes on the one database, each driven by a load process of its own with its
  // share of the connections (and of the tickets), all at once; their requests per second add up. Several workers
  // (RA_WORKERS): one service, its primary and workers on one port, driven by one load process.
  const services = await Promise.all(Array.from({ length: instances }, async () =>
    await startProcess([path.join(projectRoot, 'dist', 'src', 'server.js')], {
      ...await serviceEnv(prepared.databaseFile, prepared.databaseUrl),
      ...(workers > 1 ? { RA_WORKERS: String(workers) } : {})
    }, workers > 1 ? /"cluster":"primary".*ticket service ready/ : undefined)))
  const ticketsFiles = instances === 1 ? [prepared.ticketsFile] : splitTickets(prepared.ticketsFile, instances)
  const connections = Math.max(1, Math.floor(CONNECTIONS / instances))
  const all = async (job: (url: string, i: number) => Record<string, unknown>): Promise<Omit<Row, 'name'>> => {
    const pids = services.flatMap((s) => [s.child.pid!, ...childrenOf(s.child.pid!)])
    const countersBefore = await Promise.all(services.map((s) => storageCounters(s.url)))
    const startedAt = performance.now()
    const before = cpuSnapshot(pids)
    const results = await Promise.all(services.map((s, i) => load({ ...job(s.url, i), ...(instances > 1 ? { connections } : {}) })))
    const cpu = cpuShares(before, cpuSnapshot(pids))
    const seconds = (performance.now() - startedAt) / 1000
    const countersAfter = await Promise.all(services.map((s) => storageCounters(s.url)))
    const moved = (read: (c: Awaited<ReturnType<typeof storageCounters>>) => number) =>
      countersAfter.reduce((sum, after, i) => sum + read(after) - read(countersBefore[i]!), 0)
    const writeLock = countersAfter[0]!.writeLock === null
      ? null
      : { held: moved((c) => c.writeLock!.held) / seconds, waited: moved((c) => c.writeLock!.waited) / seconds / (instances * workers) }
    const conflicts = countersAfter[0]!.conflicts === null ? undefined : moved((c) => c.conflicts!)
    return {
      rps: results.reduce((sum, r) => sum + r.rps, 0),
      // Of the instances' own, the worst (autocannon reports percentiles per run, which cannot be merged exactly).
      p50: Math.max(...results.map((r) => r.p50)),
      p99: Math.max(...results.map((r) => r.p99)),
      errors: results.reduce((sum, r) => sum + r.errors, 0),
      non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
      total: results.reduce((sum, r) => sum + r.total, 0),
      ticketsReused: results.reduce((sum, r) => sum + (r.ticketsReused ?? 0), 0),
      cpu,
      writeLock,
      conflicts
    }
  }
  try {
    const json = { 'content-type': 'application/json' }
    const rows: Row[] = []
    // In the order given (the scale run redeems first, before creating adds invitations).
    for (const endpoint of endpoints) {
      if (endpoint === 'create') {
        rows.push({
          name: 'POST /v1/invitations',
          ...await all((url) => ({
            url: `${url}/v1/invitations`,
            method: 'POST',
            headers: { ...json, authorization: `Bearer ${prepared.alice}` },
            body: JSON.stringify({ computer: 'CONTOSO\\PC-0042', lifetime: { value: 30, unit: 'minutes' } })
          }))
        })
      }
      if (endpoint === 'redeem') {
        rows.push({
          name: 'POST /v1/redemptions',
          ...await all((url, i) => ({
            url: `${url}/v1/redemptions`,
            method: 'POST',
            headers: { ...json, authorization: `Bearer ${prepared.bob}` },
            ticketsFile: ticketsFiles[i],
            ...(redeemCount ? { warmupRequests: redeemCount.warmup, measuredRequests: redeemCount.measured } : {})
          }))
        })
      }
      if (endpoint === 'session') {
        rows.push({
          name: 'GET /v1/sessions/{id}',
          ...await all((url) => ({
            url: `${url}/v1/sessions/${prepared.sessionId}`,
            method: 'GET',
            headers: { authorization: `Bearer ${prepared.bob}` }
          }))
        })
      }
    }
    return { rows, peakRssBytes: instances === 1 && workers === 1 ? peakRss(services[0]!.child.pid) : null }
  } finally {
    await Promise.all(services.map(async (service) => {
      if (service.child.exitCode !== null) return
      const exited = new Promise((resolve) => service.child.once('exit', resolve))
      service.child.kill('SIGTERM')
      await exited
    }))
  }
}

/** The prepared tickets dealt out to `n` files, one per instance, so that no two instances redeem the same one. */
function splitTickets (file: string, n: number): string[] {
  const tickets = JSON.parse(readFileSync(file, 'utf8')) as string[]
  return Array.from({ length: n }, (_, i) => {
    const part = `${file}.${i}`
    writeFileSync(part, JSON.stringify(tickets.filter((_t, j) => j % n === i)))
    return part
  })
}

export async function measureBaseline (): Promise<Row> {
  const baseline = await startProcess(['--import', 'tsx', path.join(projectRoot, 'bench', 'baseline-server.ts')], { LOG_LEVEL: 'info' })
  try {
    const before = cpuSnapshot([baseline.child.pid!])
    const result = await load({
      url: `${baseline.url}/baseline`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ computer: 'CONTOSO\\PC-0042', lifetime: { value: 30, unit: 'minutes' } })
    })
    return { name: 'baseline POST (fastify, validated body, the service\'s logging)', ...result, cpu: cpuShares(before, cpuSnapshot([baseline.child.pid!])) }
  } finally {
    baseline.child.kill('SIGTERM')
  }
}

/** The table; each row's ratio is to the baseline measured just before its group (`baselineRps`), else to `baseline`. */
export function table (rows: Row[], baseline?: Row): string {
  const lines = [
    '| endpoint | engine | requests/s | p50 ms | p99 ms | errors | non-2xx | ratio to baseline | CPU: service / PostgreSQL / load and rest / idle |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|'
  ]
  const pct = (n: number) => `${n.toFixed(0)} %`
  for (const r of baseline ? [baseline, ...rows] : rows) {
    const ratio = pct(r.rps / (r.baselineRps ?? baseline?.rps ?? r.rps) * 100)
    const reused = (r.ticketsReused ?? 0) > 0 ? ` (${r.ticketsReused} reused a spent ticket: raise BENCH_TICKETS)` : ''
    // Each of them waited for the server's deadlock check (deadlock_timeout, 1 s) before it was rolled back: a slow request.
    const conflicts = (r.conflicts ?? 0) > 0 ? ` (${r.conflicts} rolled back in a conflict: a deadlock or a serialisation failure)` : ''
    const cpu = r.cpu ? [r.cpu.service, r.cpu.database, r.cpu.rest, r.cpu.idle].map(pct).join(' / ') : '–'
    lines.push(`| ${r.name} | ${r.engine ?? '–'} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors}${conflicts} | ${r.non2xx}${reused} | ` +
      `${ratio} | ${cpu} |`)
  }
  return lines.join('\n')
}

/**
 * SQLite's write lock during each row that wrote: how much of the time it was held, how much a process waited, and the
 * requests/s at which it would be held all the time (the rate divided by the share held): the most that more cores and
 * processes on one file could give those writes, whatever else scales.
 */
export function writeLockTable (rows: Row[]): string {
  const wrote = rows.filter((r) => r.writeLock && r.writeLock.held >= 0.005)
  if (wrote.length === 0) return ''
  const pct = (n: number) => `${(n * 100).toFixed(0)} %`
  return [
    '| endpoint | engine | requests/s | write lock held | a process waited for it | requests/s with the lock held all the time |',
    '|---|---|---:|---:|---:|---:|',
    ...wrote.map((r) => `| ${r.name} | ${r.engine ?? '–'} | ${r.rps.toFixed(0)} | ${pct(r.writeLock!.held)} | ${pct(r.writeLock!.waited)} | ` +
      `${(r.rps / r.writeLock!.held).toFixed(0)} |`)
  ].join('\n')
}

/**
 * What the machine's CPU allows each row: its CPU time per request (the service's processes, the PostgreSQL server's,
 * the load generator and the rest; shares of the run's time, warm-up included, over its requests a second), and the
 * requests a second at which every core would be busy at that cost (the rate over the share not idle): the most that
 * spreading the same work over more threads or processes could give on this machine, whatever else binds.
 */
export function cpuBoundTable (rows: Row[], cores = os.cpus().length): string {
  const measured = rows.filter((r) => r.cpu && r.rps > 0 && r.cpu.idle < 100)
  if (measured.length === 0) return ''
  const us = (share: number, rps: number) => (share / 100 * cores * 1e6 / rps).toFixed(0)
  return [
    '| endpoint | engine | requests/s | CPU µs a request: service / PostgreSQL / load and rest | idle | requests/s with every core busy | ratio to baseline |',
    '|---|---|---:|---|---:|---:|---:|',
    ...measured.map((r) => {
      const cpu = r.cpu!
      const ceiling = r.rps / (1 - cpu.idle / 100)
      const ratio = r.baselineRps === undefined ? '–' : `${(ceiling / r.baselineRps * 100).toFixed(0)} %`
      return `| ${r.name} | ${r.engine ?? '–'} | ${r.rps.toFixed(0)} | ${us(cpu.service, r.rps)} / ${us(cpu.database, r.rps)} / ${us(cpu.rest, r.rps)} | ` +
        `${cpu.idle.toFixed(0)} % | ${ceiling.toFixed(0)} | ${ratio} |`
    })
  ].join('\n')
}

/**
 * The baseline, measured again just before a group of rows (the machine's speed drifts over a run of many minutes when
 * it is shared), then the group's rows with their ratios to it.
 */
async function group (engine: string, measure: () => Promise<Row[]>): Promise<Row[]> {
  const baseline = await measureBaseline()
  const rows = await measure()
  return [{ ...baseline, engine: `before ${engine}` }, ...rows.map((r) => ({ ...r, engine, baselineRps: baseline.rps }))]
}

type Engine = 'sqlite' | 'postgres'

/** A new, empty database on the server of `url`; its URL. */
export async function freshDatabase (url: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`CREATE DATABASE ${name}`)
  } finally {
    await client.end()
  }
  const fresh = new URL(url)
  fresh.pathname = `/${name}`
  return fresh.toString()
}

/** The server's version and the settings that decide a commit's cost, for the results' header. */
export async function postgresSettings (url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows: [s] } = await client.query<Record<string, string>>(
      'SELECT current_setting(\'server_version\') AS version, current_setting(\'fsync\') AS fsync, ' +
      'current_setting(\'synchronous_commit\') AS synchronous_commit, current_setting(\'shared_buffers\') AS shared_buffers')
    return `PostgreSQL ${s!['version']} (embedded-postgres, default settings: fsync ${s!['fsync']}, synchronous_commit ${s!['synchronous_commit']}, ` +
      `shared_buffers ${s!['shared_buffers']})`
  } finally {
    await client.end()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { engine: { type: 'string', default: 'both' } } })
  if (!['sqlite', 'postgres', 'both'].includes(values.engine)) {
    console.error(`--engine must be sqlite, postgres or both (got ${values.engine})`)
    process.exit(2)
  }
  const engines: Engine[] = values.engine === 'both' ? ['sqlite', 'postgres'] : [values.engine as Engine]
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ra-bench-'))
  const rows: Row[] = []
  const notes: string[] = []
  if (engines.includes('sqlite')) {
    console.log(`SQLite: preparing ${TICKETS.sqlite} tickets in ${dir} …`)
    const prepared = await prepare(dir, TICKETS.sqlite)
    rows.push(...await group('SQLite', async () => (await measureService(prepared)).rows))
    notes.push('SQLite: the service\'s default database, a file (WAL, RA_DB_SYNCHRONOUS NORMAL) in a temporary folder.')
    if (INSTANCES > 1) {
      // The redemptions above spent their tickets: the workers run on a fresh database of their own.
      const again = await prepare(mkdtempSync(path.join(os.tmpdir(), 'ra-bench-')), TICKETS.sqlite)
      rows.push(...await group(`SQLite, RA_WORKERS=${INSTANCES}`, async () => (await measureService(again, undefined, undefined, 1, INSTANCES)).rows))
      notes.push(`SQLite, RA_WORKERS=${INSTANCES}: the service as \`RA_WORKERS=${INSTANCES} npm start\` runs it, a primary and that many worker ` +
        'processes on one port and one database file (SQLite lets one write at a time: each worker commits its own groups), driven by the ' +
        `same ${CONNECTIONS} connections; the service's CPU is the primary's and the workers'.`)
    }
  }
  if (engines.includes('postgres')) {
    const server = await startPostgres()
    try {
      const pgDir = path.join(dir, 'postgres')
      mkdirSync(pgDir)
      console.log(`PostgreSQL: preparing ${TICKETS.postgres} tickets (tickets file in ${pgDir}) …`)
      const prepared = await prepare(pgDir, TICKETS.postgres, server.url)
      rows.push(...await group('PostgreSQL', async () => (await measureService(prepared)).rows))
      notes.push(`PostgreSQL: ${await postgresSettings(server.url)}, started by the bench on this machine, so the server shares the ` +
        `${os.cpus().length} cores with the service and the load generator; the service's pool: ${PG_POOL_SIZE} connections (RA_DATABASE_POOL_SIZE).`)
      if (INSTANCES > 1) {
        const again = path.join(dir, 'postgres-instances')
        mkdirSync(again)
        const url = await freshDatabase(server.url, 'bench_instances')
        const preparedAgain = await prepare(again, TICKETS.postgres, url)
        rows.push(...await group(`PostgreSQL, ${INSTANCES} instances`, async () => (await measureService(preparedAgain, undefined, undefined, INSTANCES)).rows))
        notes.push(`PostgreSQL, ${INSTANCES} instances: that many service processes on the one server, each with its own pool and ` +
          `${Math.floor(CONNECTIONS / INSTANCES)} connections of load; the p50 and p99 are the worst of the instances'.`)
      }
    } finally {
      await server.stop()
    }
  }
  const locks = writeLockTable(rows)
  const cpuBound = cpuBoundTable(rows)
  const cpuTitle = `The machine's CPU (${os.cpus().length} cores; the CPU shares above, warm-up included, over the requests a second)`
  const text = table(rows) +
    (locks === '' ? '' : `\n\nSQLite's write lock (from each process's ra_sqlite_write_lock_* counters, warm-up included):\n\n${locks}`) +
    (cpuBound === '' ? '' : `\n\n${cpuTitle}:\n\n${cpuBound}`)
  const header = `Run ${new Date().toISOString()} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}; ` +
    `${CONNECTIONS} connections, ${WARMUP_S} s warm-up, ${DURATION_S} s measured; load generator on the same machine.\n\n` +
    `Each engine: a fresh database with prepared tickets (SQLite ${TICKETS.sqlite}, PostgreSQL ${TICKETS.postgres}; every redemption ` +
    'redeems a fresh one); the baseline (a fastify server with ' +
    'one validated POST route and the service\'s logging, no database) is measured again just before each group of rows, and the group\'s ratios ' +
    'are to it. CPU: shares of all cores\' time during the run, warm-up included (Linux /proc).\n\n' +
    notes.map((n) => `- ${n}`).join('\n')
  console.log(`\n${header}\n\n${text}\n`)
  writeFileSync(path.join(projectRoot, 'bench', 'results.md'), `# Benchmark results (npm run bench)\n\n${header}\n\n${text}\n`)
}
