// npm run bench:scale [-- --engine sqlite|postgres|both]: creating and redeeming with 10 thousand and with
// 1 million invitations already stored (each with its audit event), to show how the cost grows with data; also
// the database size per million invitations and the service's peak memory. Writes bench/scale-results.md.
//
// Each scenario: a fresh database with BENCH_SCALE_TICKETS (default 10,000) open invitations whose
// tickets are redeemed, plus older, ended invitations (and their audit events) written straight
// into the database up to the total; then the service redeems (a counted number of tickets: 1,000 to warm
// up, the rest measured) and creates (warm-up, then BENCH_DURATION_S seconds). On PostgreSQL (a server
// started here, as `npm run bench` does), the seeded database is then vacuumed and analysed, as autovacuum would soon.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import pg from 'pg'
import { startPostgres, type RunningPostgres } from '../scripts/embedded-postgres.js'
import { newId } from '../src/db/ids.js'
import { projectRoot } from '../src/paths.js'
import { freshDatabase, measureBaseline, measureService, postgresSettings, prepare, type Row } from './run.js'

const TICKETS = Number(process.env['BENCH_SCALE_TICKETS'] ?? 10_000)
const SCENARIOS = (process.env['BENCH_SCALE_STORED'] ?? '10000,1000000').split(',').map(Number)
const WARMUP_REDEMPTIONS = Math.min(1000, Math.floor(TICKETS / 10))

/**
 * Ended invitations and their audit events, as weeks of use leave them: spread over the 29 days before now, expired
 * or revoked; all within the default retention (RA_INVITATION_RETENTION_DAYS, 30), so that they stay stored (the
 * service's purge would delete older ones in the background, during the measurement).
 */
const SEED_START_MS = 29 * 86_400_000
const SEED_SPAN_MS = 28 * 86_400_000
function seed (file: string, count: number): void {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  const world = db.prepare('SELECT i.computer_id, i.novice_id, i.kid, i.created_by FROM invitations i LIMIT 1')
    .get() as { computer_id: string, novice_id: string, kid: string, created_by: string }
  const invitation = db.prepare('INSERT INTO invitations (id, computer_id, novice_id, created_by, state, mode, lifetime_minutes, created_at, expires_at, ' +
    `kid, jti, ticket_hash, ended_at, revoked_at)
    VALUES (?, ?, ?, ?, ?, 'control', 360, ?, ?, ?, ?, ?, ?, ?)`)
  const audit = db.prepare('INSERT INTO audit_events (occurred_at, request_id, actor, actor_token_id, action, target, outcome, details) ' +
    'VALUES (?, ?, ?, NULL, \'invitation.create\', ?, \'success\', ?)')
  const now = Date.now()
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const created = new Date(now - SEED_START_MS + Math.floor((i / count) * SEED_SPAN_MS))
      const expires = new Date(created.getTime() + 360 * 60_000)
      const revoked = i % 10 === 0
      const id = newId()
      invitation.run(id, world.computer_id, world.novice_id, world.created_by, revoked ? 'revoked' : 'expired', created.toISOString(), expires.toISOString(),
        world.kid, newId(), Buffer.from(newId()).toString('base64url').slice(0, 43),
        revoked ? created.toISOString() : expires.toISOString(), revoked ? created.toISOString() : null)
      audit.run(created.toISOString(), newId(), world.created_by, `invitations/${id}`,
        JSON.stringify({
          computer: 'CONTOSO\\PC-0042',
          novice: world.created_by,
          mode: 'control',
          lifetimeMinutes: 360,
          expiresAt: expires.toISOString(),
          passwordProtected: false,
          rules: ['S1', 'S2', 'S3', 'S4', 'S5', 'S6'],
          kid: world.kid
        }))
    }
  })
  for (let from = 0; from < count; from += 20_000) batch(from, Math.min(count, from + 20_000))
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
}

/**
 * The same on PostgreSQL, in SQL: ended invitations spread over 29 days (a tenth revoked), each with its audit
 * event. Their ids are random (gen_random_uuid; PostgreSQL 17 has no UUIDv7): older rows, scattered in the
 * primary key instead of at its start; the service's own rows are UUIDv7 as always.
 */
async function seedPostgres (url: string, count: number): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const now = Date.now()
    for (let from = 0; from < count; from += 100_000) {
      const to = Math.min(count, from + 100_000)
      await client.query(`WITH w AS (SELECT computer_id, novice_id, kid, created_by FROM invitations LIMIT 1),
        g AS (SELECT n, gen_random_uuid()::text AS id,
          to_timestamp(($1::float8 + floor(n::float8 / $2 * $5::float8)) / 1000) AS created
          FROM generate_series($3::int, $4::int - 1) AS n),
        r AS (SELECT g.*, to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS c,
          to_char((created + interval '360 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS e FROM g),
        i AS (INSERT INTO invitations (id, computer_id, novice_id, created_by, state, mode, lifetime_minutes, created_at, expires_at,
            kid, jti, ticket_hash, ended_at, revoked_at)
          SELECT r.id, w.computer_id, w.novice_id, w.created_by, CASE WHEN r.n % 10 = 0 THEN 'revoked' ELSE 'expired' END, 'control', 360, r.c, r.e,
            w.kid, gen_random_uuid()::text, left(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 43),
            CASE WHEN r.n % 10 = 0 THEN r.c ELSE r.e END, CASE WHEN r.n % 10 = 0 THEN r.c END
          FROM r, w)
        INSERT INTO audit_events (occurred_at, request_id, actor, actor_token_id, action, target, outcome, details)
          SELECT r.c, gen_random_uuid()::text, w.created_by, NULL, 'invitation.create', 'invitations/' || r.id, 'success',
            json_build_object('computer', 'CONTOSO\\PC-0042', 'novice', w.created_by, 'mode', 'control', 'lifetimeMinutes', 360, 'expiresAt', r.e,
              'passwordProtected', false, 'rules', json_build_array('S1', 'S2', 'S3', 'S4', 'S5', 'S6'), 'kid', w.kid)::text
          FROM r, w`, [now - SEED_START_MS, count, from, to, SEED_SPAN_MS])
    }
    // What autovacuum would soon do on its own (a vacuum after so many inserts, statistics), not during the measurement.
    await client.query('VACUUM ANALYZE')
  } finally {
    await client.end()
  }
}

function size (file: string): number {
  let bytes = 0
  for (const f of [file, `${file}-wal`]) { try { bytes += statSync(f).size } catch {} }
  return bytes
}

async function postgresSize (url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return Number((await client.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n')).rows[0]!.n)
  } finally {
    await client.end()
  }
}

type Engine = 'sqlite' | 'postgres'
interface Result {
  engine: Engine
  stored: number
  rows: Row[]
  peakRssBytes: number | null
  dbBytes: number
  prepareS: number
  /** The baseline's requests/s, measured just before this scenario (the machine's speed drifts between scenarios). */
  baselineRps: number
}

const { values } = parseArgs({ options: { engine: { type: 'string', default: 'both' } } })
if (!['sqlite', 'postgres', 'both'].includes(values.engine)) {
  console.error(`--engine must be sqlite, postgres or both (got ${values.engine})`)
  process.exit(2)
}
const engines: Engine[] = values.engine === 'both' ? ['sqlite', 'postgres'] : [values.engine as Engine]
const results: Result[] = []
const notes: string[] = []
for (const engine of engines) {
  const server: RunningPostgres | null = engine === 'postgres' ? await startPostgres() : null
  try {
    if (server) notes.push(`PostgreSQL: ${await postgresSettings(server.url)}, on this machine; the service's pool: 10 connections.`)
    for (const stored of SCENARIOS) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'ra-scale-'))
      const started = Date.now()
      const tickets = Math.min(TICKETS, stored)
      const url = server ? await freshDatabase(server.url, `scale_${stored}`) : undefined
      console.log(`${engine}, ${stored.toLocaleString('en')} stored invitations: preparing ${tickets} tickets …`)
      const prepared = await prepare(dir, tickets + 1, url)
      if (stored > tickets) {
        console.log(`  writing ${(stored - tickets).toLocaleString('en')} ended invitations and their audit events …`)
        if (url) await seedPostgres(url, stored - tickets)
        else seed(prepared.databaseFile, stored - tickets)
      }
      const dbBytes = url ? await postgresSize(url) : size(prepared.databaseFile)
      const prepareS = (Date.now() - started) / 1000
      const baselineRps = (await measureBaseline()).rps
      const { rows, peakRssBytes } = await measureService(prepared, ['redeem', 'create'],
        { warmup: WARMUP_REDEMPTIONS, measured: tickets - WARMUP_REDEMPTIONS })
      results.push({ engine, stored, rows, peakRssBytes, dbBytes, prepareS, baselineRps })
      rmSync(dir, { recursive: true, force: true })
    }
  } finally {
    await server?.stop()
  }
}

const mb = (b: number | null) => b === null ? 'n/a' : `${(b / 1024 / 1024).toFixed(0)} MB`
const lines = [
  '| engine | invitations stored | endpoint | requests/s | p50 ms | p99 ms | errors | non-2xx | baseline req/s | vs. smallest | ' +
    'vs. smallest, per baseline | database | service peak RSS |',
  '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
]
const sizes: string[] = []
for (const engine of engines) {
  const mine = results.filter((r) => r.engine === engine)
  const first = mine[0]!
  for (const r of mine) {
    for (const row of r.rows) {
      const base = first.rows.find((x) => x.name === row.name)!
      const perBaseline = (row.rps / r.baselineRps) / (base.rps / first.baselineRps)
      lines.push(`| ${engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} | ${r.stored.toLocaleString('en')} | ${row.name} | ${row.rps.toFixed(0)} | ${row.p50} | ` +
        `${row.p99} | ${row.errors} | ${row.non2xx} | ${r.baselineRps.toFixed(0)} | ${(row.rps / base.rps * 100).toFixed(0)} % | ` +
        `${(perBaseline * 100).toFixed(0)} % | ${mb(r.dbBytes)} | ${mb(r.peakRssBytes)} |`)
    }
  }
  const last = mine.at(-1)!
  if (mine.length > 1) {
    sizes.push(`Database size per million invitations (with their audit events and indexes), ${engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'}: ` +
      `${mb((last.dbBytes - first.dbBytes) / ((last.stored - first.stored) / 1_000_000))}.`)
  }
}
const header = `Run ${new Date().toISOString()} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}; ` +
  '50 connections; ' +
  `redemption: ${WARMUP_REDEMPTIONS.toLocaleString('en')} tickets to warm up, then ${(TICKETS - WARMUP_REDEMPTIONS).toLocaleString('en')} measured; ` +
  `creation: ${process.env['BENCH_WARMUP_S'] ?? 3} s warm-up, ${process.env['BENCH_DURATION_S'] ?? 10} s measured (after the redemptions). ` +
  'Stored invitations each have their audit event. The baseline (as in `npm run bench`) is measured just before each scenario; ' +
  '"per baseline" compares the ratios to it, which takes out the machine\'s drift between scenarios.' + notes.map((n) => `\n\n- ${n}`).join('')
const text = `${header}\n\n${lines.join('\n')}\n${sizes.length > 0 ? `\n${sizes.join('\n')}\n` : ''}`
console.log(`\n${text}`)
writeFileSync(path.join(projectRoot, 'bench', 'scale-results.md'), `# Scale benchmark results (npm run bench:scale)\n\n${text}`)
