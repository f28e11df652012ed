// npm run bench:scale: creating and redeeming with 10 thousand and with 1 million invitations
// already stored (each with its audit event), to show how the cost grows with data; also the
// database size per million invitations and the service's peak memory. Writes bench/scale-results.md.
//
// Each scenario: a fresh database with BENCH_SCALE_TICKETS (default 10,000) open invitations whose
// tickets are redeemed, plus older, ended invitations (and their audit events) written straight
// into SQLite up to the total; then the service redeems (a counted number of tickets: 1,000 to warm
// up, the rest measured) and creates (warm-up, then BENCH_DURATION_S seconds).
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { newId } from '../src/db/ids.js'
import { projectRoot } from '../src/paths.js'
import { measureService, prepare, type Row } from './run.js'

const TICKETS = Number(process.env['BENCH_SCALE_TICKETS'] ?? 10_000)
const SCENARIOS = (process.env['BENCH_SCALE_STORED'] ?? '10000,1000000').split(',').map(Number)
const WARMUP_REDEMPTIONS = Math.min(1000, Math.floor(TICKETS / 10))

/** Ended invitations and their audit events, as months of use leave them: spread over 90 days, expired or revoked. */
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
      const created = new Date(now - 90 * 86_400_000 + Math.floor((i / count) * 89 * 86_400_000))
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

function size (file: string): number {
  let bytes = 0
  for (const f of [file, `${file}-wal`]) { try { bytes += statSync(f).size } catch {} }
  return bytes
}

interface Result { stored: number, rows: Row[], peakRssBytes: number | null, dbBytes: number, prepareS: number }
const results: Result[] = []
for (const stored of SCENARIOS) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ra-scale-'))
  const started = Date.now()
  const tickets = Math.min(TICKETS, stored)
  console.log(`${stored.toLocaleString('en')} stored invitations: preparing ${tickets} tickets …`)
  const prepared = await prepare(dir, tickets + 1)
  if (stored > tickets) {
    console.log(`  writing ${(stored - tickets).toLocaleString('en')} ended invitations and their audit events …`)
    seed(prepared.databaseFile, stored - tickets)
  }
  const dbBytes = size(prepared.databaseFile)
  const prepareS = (Date.now() - started) / 1000
  const { rows, peakRssBytes } = await measureService(prepared, ['redeem', 'create'], { warmup: WARMUP_REDEMPTIONS, measured: tickets - WARMUP_REDEMPTIONS })
  results.push({ stored, rows, peakRssBytes, dbBytes, prepareS })
  rmSync(dir, { recursive: true, force: true })
}

const mb = (b: number | null) => b === null ? 'n/a' : `${(b / 1024 / 1024).toFixed(0)} MB`
const lines = [
  '| invitations stored | endpoint | requests/s | p50 ms | p99 ms | errors | non-2xx | vs. smallest | database | service peak RSS |',
  '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|'
]
const first = results[0]!
for (const r of results) {
  for (const row of r.rows) {
    const base = first.rows.find((x) => x.name === row.name)!
    lines.push(`| ${r.stored.toLocaleString('en')} | ${row.name} | ${row.rps.toFixed(0)} | ${row.p50} | ${row.p99} | ${row.errors} | ${row.non2xx} | ` +
      `${(row.rps / base.rps * 100).toFixed(0)} % | ${mb(r.dbBytes)} | ${mb(r.peakRssBytes)} |`)
  }
}
const last = results.at(-1)!
const perMillion = results.length > 1 ? (last.dbBytes - first.dbBytes) / ((last.stored - first.stored) / 1_000_000) : null
const header = `Run ${new Date().toISOString()} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}; ` +
  '50 connections; ' +
  `redemption: ${WARMUP_REDEMPTIONS.toLocaleString('en')} tickets to warm up, then ${(TICKETS - WARMUP_REDEMPTIONS).toLocaleString('en')} measured; ` +
  `creation: ${process.env['BENCH_WARMUP_S'] ?? 3} s warm-up, ${process.env['BENCH_DURATION_S'] ?? 10} s measured (after the redemptions). ` +
  'Stored invitations each have their audit event.'
const sizeLine = perMillion === null ? '' : `\nDatabase size per million invitations (with their audit events and indexes): ${mb(perMillion)}.\n`
const text = `${header}\n\n${lines.join('\n')}\n${sizeLine}`
console.log(`\n${text}`)
writeFileSync(path.join(projectRoot, 'bench', 'scale-results.md'), `# Scale benchmark results (npm run bench:scale)\n\n${text}`)
