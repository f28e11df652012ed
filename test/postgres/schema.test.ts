// The PostgreSQL migrations against the SQLite ones: one storage code path needs the same schema on both.
import path from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import t from 'tap'
import { freshPostgresDatabase } from '../engine.js'
import { build, outsideRows, outsideSql } from '../helper.js'

t.test('the PostgreSQL schema has the same tables and columns as the SQLite one, with the same nullability', async (t) => {
  const dir = t.testdir()
  const onSqlite = await build(t, {}, path.join(dir, 'sqlite'))
  const onPostgres = await build(t, { RA_DATABASE_URL: await freshPostgresDatabase() }, path.join(dir, 'postgres'))
  const db = new Database(onSqlite.config.databaseFile, { readonly: true })
  t.teardown(() => db.close())
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>)
    .map((r) => r.name)
  const sqliteColumns = tables.flatMap((table) => (db.prepare(`PRAGMA table_info("${table}")`).all() as Array<{ name: string, notnull: number, pk: number }>)
    .map((c) => `${table}.${c.name} ${c.notnull || c.pk ? 'not null' : 'null'}`)).sort()
  const postgresColumns = (await outsideRows<{ c: string }>(onPostgres.config, `SELECT table_name || '.' || column_name || ' ' ||
      CASE WHEN is_nullable = 'NO' THEN 'not null' ELSE 'null' END AS c
    FROM information_schema.columns WHERE table_schema = 'public'`)).map((r) => r.c).sort()
  t.ok(sqliteColumns.length > 80, `${sqliteColumns.length} columns`)
  t.same(postgresColumns, sqliteColumns)
})

t.test('PostgreSQL: the audit trail is append-only there too (update, delete and truncate refused)', async (t) => {
  const w = await build(t, { RA_DATABASE_URL: await freshPostgresDatabase() })
  for (const sql of ["UPDATE audit_events SET actor = 'someone else'", 'DELETE FROM audit_events', 'TRUNCATE audit_events']) {
    await t.rejects(outsideSql(w.config, sql), /append-only/, sql)
  }
  t.ok((await outsideRows(w.config, 'SELECT count(*) AS n FROM audit_events'))[0].n > 0, 'the trail is intact')
})

t.test('PostgreSQL: a changed migration stops the start, as on SQLite', async (t) => {
  const url = await freshPostgresDatabase()
  const first = await build(t, { RA_DATABASE_URL: url })
  await first.app.close()
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
  await client.end()
  await t.rejects(build(t, { RA_DATABASE_URL: url }), { code: 'MIGRATION_REFUSED', message: /001\.do\.foundation\.sql was changed after it was applied/ })
})
