import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { openDatabase } from '../../src/db/database.js'
import { MigrationError, migrate, readMigrations } from '../../src/db/migrate.js'
import { migrationsDir } from '../../src/paths.js'
import { thrown } from '../helper.js'

/** How many migrations the project has, and file names for the next ones. */
const count = readMigrations(migrationsDir('sqlite')).length
const nth = (n: number, name: string) => `${String(n).padStart(3, '0')}.do.${name}.sql`

function setup (t: Test) {
  const dir = t.testdir()
  const migrations = path.join(dir, 'migrations')
  cpSync(migrationsDir('sqlite'), migrations, { recursive: true })
  const db = openDatabase(path.join(dir, 'db', 'ra.sqlite'), { busyTimeoutMs: 1000 })
  t.teardown(() => db.close())
  return { db, migrations }
}

t.test('applies every migration once, records checksums, and is idempotent', async (t) => {
  const { db, migrations } = setup(t)
  const first = migrate(db, migrations)
  t.ok(first.applied.length >= 1)
  t.same(migrate(db, migrations).applied, [], 'nothing to do the second time')
  const rows = db.prepare('SELECT version, checksum FROM schema_migrations').all() as Array<{ checksum: string }>
  t.equal(rows.length, first.current)
  t.ok(rows.every((r) => /^[0-9a-f]{64}$/.test(r.checksum)))
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(db.pragma('foreign_keys', { simple: true }), 1)
})

t.test('refuses to start when an applied migration file was changed', async (t) => {
  const { db, migrations } = setup(t)
  migrate(db, migrations)
  const file = path.join(migrations, '001.do.foundation.sql')
  writeFileSync(file, readFileSync(file, 'utf8') + '\n-- edited afterwards\n')
  const err = thrown(() => migrate(db, migrations))
  t.ok(err instanceof MigrationError)
  t.match(err?.message, /001\.do\.foundation\.sql was changed after it was applied/)
})

t.test('a CRLF checkout of the same file is not a change', async (t) => {
  const { db, migrations } = setup(t)
  migrate(db, migrations)
  const file = path.join(migrations, '001.do.foundation.sql')
  writeFileSync(file, readFileSync(file, 'utf8').replace(/\n/g, '\r\n'))
  t.same(migrate(db, migrations).applied, [])
})

t.test('a failing migration leaves nothing behind (one transaction)', async (t) => {
  const { db, migrations } = setup(t)
  migrate(db, migrations)
  writeFileSync(path.join(migrations, nth(count + 1, 'broken')), 'CREATE TABLE half_done (id TEXT);\nTHIS IS NOT SQL;\n')
  t.throws(() => migrate(db, migrations))
  t.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half_done'").get() as { n: number }).n, 0)
  t.equal((db.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n, count)
})

t.test('a database migrated by a newer version is refused', async (t) => {
  const { db, migrations } = setup(t)
  migrate(db, migrations)
  db.prepare("INSERT INTO schema_migrations VALUES (?, 'from-the-future', 'x', '2030-01-01T00:00:00.000Z')").run(count + 1)
  t.throws(() => migrate(db, migrations), /newer version/)
})

t.test('files must be numbered in sequence', async (t) => {
  const { db, migrations } = setup(t)
  writeFileSync(path.join(migrations, nth(count + 2, 'gap')), 'SELECT 1;')
  t.throws(() => migrate(db, migrations), /out of sequence/)
})

t.test('the audit table is append-only', async (t) => {
  const { db, migrations } = setup(t)
  migrate(db, migrations)
  db.prepare("INSERT INTO audit_events (occurred_at, actor, action, outcome) VALUES ('2026-01-01T00:00:00.000Z', 'x', 'y', 'success')").run()
  t.throws(() => db.prepare("UPDATE audit_events SET actor = 'z'").run(), /append-only/)
  t.throws(() => db.prepare('DELETE FROM audit_events').run(), /append-only/)
})

t.test('both engines have the same migrations: the same numbers and names, in their own dialects', async (t) => {
  const sqlite = readMigrations(migrationsDir('sqlite')).map((m) => m.file)
  const postgres = readMigrations(migrationsDir('postgres')).map((m) => m.file)
  t.ok(sqlite.length >= 8)
  t.same(postgres, sqlite)
})
