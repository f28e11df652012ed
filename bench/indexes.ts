// npm run bench:indexes (issue 20): what each secondary index costs the inserts of the two tables every request that
// changes something writes to, audit_events and invitations, on the service's own SQLite schema and settings. For each
// index: a copy of a prepared database without it takes BENCH_INDEX_ROWS rows (default 20,000) in commits of 8 rows
// (as the group commit makes them under load), against the same copy with every index; BENCH_ROUNDS rounds (default 3),
// the median. Writes bench/indexes-results.md. What each index serves is said beside it (from the repositories' queries).
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { openDatabase } from '../src/db/database.js'
import { newId } from '../src/db/ids.js'
import { projectRoot } from '../src/paths.js'
import { prepare } from './run.js'

const ROWS = Number(process.env['BENCH_INDEX_ROWS'] ?? 20_000)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3)
const PER_COMMIT = 8

/** What reads each index (the repositories' queries); an index no query needs is pure cost. */
const SERVES: Record<string, string> = {
  audit_events_time: 'GET /v1/audit-events?from=&to= (a time range)',
  audit_events_actor: 'GET /v1/audit-events?actor=',
  audit_events_action: 'GET /v1/audit-events?action=',
  audit_events_target: 'GET /v1/audit-events?target=, a resource\'s history',
  invitations_novice: 'a user\'s invitations, newest first (GET /v1/invitations as a user)',
  invitations_computer: 'a computer\'s invitations (GET /v1/invitations?computer=)',
  invitations_state_expiry: 'the expiry read and sweep (open invitations past their time), on every redemption',
  invitations_external_ref: 'GET /v1/invitations?externalRef= (partial: only rows with one)',
  invitations_code_hash: 'redeeming by short code (partial, unique: only rows with a code)'
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'ra-indexes-'))
console.log('preparing a database …')
const prepared = await prepare(dir, 2)
const template = openDatabase(prepared.databaseFile, { busyTimeoutMs: 5000 })
template.pragma('wal_checkpoint(TRUNCATE)')
const invitation = template.prepare('SELECT * FROM invitations LIMIT 1').get() as Record<string, unknown>
// The indexes of constraints (the primary key, jti UNIQUE) cannot be dropped: they are what the constraint is.
const indexes = (table: string) => (template.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?
  AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY name`).all(table) as Array<{ name: string }>).map((r) => r.name)
const tables = { audit_events: indexes('audit_events'), invitations: indexes('invitations') }
template.close()

/** Inserts ROWS rows into `table` of a fresh copy without `drop` (if given); µs per row. */
function measure (table: 'audit_events' | 'invitations', drop: string | null): number {
  const file = path.join(dir, `copy-${process.hrtime.bigint()}.sqlite`)
  copyFileSync(prepared.databaseFile, file)
  const db = openDatabase(file, { busyTimeoutMs: 5000 })
  try {
    if (drop !== null) db.exec(`DROP INDEX ${drop}`)
    const now = Date.now()
    let insert: () => void
    if (table === 'audit_events') {
      const statement = db.prepare(`INSERT INTO audit_events (occurred_at, request_id, actor, actor_token_id, action, target, outcome, details)
        VALUES (?, ?, ?, ?, ?, ?, 'success', ?)`)
      let i = 0
      insert = () => {
        i++
        statement.run(new Date(now + i).toISOString(), newId(), 'CONTOSO\\bob', newId(), i % 2 === 0 ? 'invitation.redeem' : 'session.created',
          `invitations/${newId()}`, JSON.stringify({ session: newId(), expert: 'CONTOSO\\bob', permittedMode: 'control', rules: ['S1', 'S2', 'S4'] }))
      }
    } else {
      const columns = Object.keys(invitation)
      const statement = db.prepare(`INSERT INTO invitations (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`)
      let i = 0
      insert = () => {
        i++
        const id = newId()
        const fresh: Record<string, unknown> = {
          id,
          jti: newId(),
          ticket_hash: `h${id}`,
          created_at: new Date(now + i).toISOString(),
          expires_at: new Date(now + i + 1_800_000).toISOString()
        }
        statement.run(...columns.map((c) => c in fresh ? fresh[c] : invitation[c]) as never[])
      }
    }
    const commit = db.transaction((n: number) => { for (let k = 0; k < n; k++) insert() })
    const start = performance.now()
    for (let done = 0; done < ROWS; done += PER_COMMIT) commit(Math.min(PER_COMMIT, ROWS - done))
    return (performance.now() - start) * 1000 / ROWS
  } finally {
    db.close()
    rmSync(file, { force: true })
    rmSync(`${file}-wal`, { force: true })
    rmSync(`${file}-shm`, { force: true })
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const lines = ['| table | without | µs per row inserted | saved per row | what the index serves |', '|---|---|---:|---:|---|']
for (const [table, names] of Object.entries(tables) as Array<['audit_events' | 'invitations', string[]]>) {
  const variants: Array<string | null> = [null, ...names]
  const runs = variants.map(() => [] as number[])
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, drop] of variants.entries()) {
      console.log(`round ${round + 1} of ${ROUNDS}: ${table} ${drop === null ? 'with every index' : `without ${drop}`} …`)
      runs[i]!.push(measure(table, drop))
    }
  }
  const all = median(runs[0]!)
  lines.push(`| ${table} | (nothing: every index) | ${all.toFixed(1)} | | |`)
  for (const [i, drop] of variants.entries()) {
    if (drop === null) continue
    const us = median(runs[i]!)
    lines.push(`| ${table} | ${drop} | ${us.toFixed(1)} | ${(all - us).toFixed(1)} | ${SERVES[drop] ?? ''} |`)
  }
}
const text = `Run ${new Date().toISOString()} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}; ` +
  `${ROWS} rows per measurement in commits of ${PER_COMMIT}, on a copy of a prepared database (the service's schema and pragmas); ` +
  `median of ${ROUNDS} rounds.\n\n${lines.join('\n')}\n`
console.log(`\n${text}`)
writeFileSync(path.join(projectRoot, 'bench', 'indexes-results.md'), `# What each index costs an insert (npm run bench:indexes)\n\n${text}`)
rmSync(dir, { recursive: true, force: true })
