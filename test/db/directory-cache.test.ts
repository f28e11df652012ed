// The directory cache (src/db/directory-cache.ts) over a real SQLite file (a computers table with a trigger that
// bumps directory_version, as migration 006 makes them), with a second connection to the file as another process
// (the CLI, another instance) would be. The cache reads directory_version through `counting`,
// which hands each read to the real storage and counts it.
import path from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { DirectoryCache } from '../../src/db/directory-cache.js'
import { DIRECTORY_TABLES, mayChangeDirectory } from '../../src/db/directory-tables.js'
import { SqliteStorage } from '../../src/db/sqlite-storage.js'
import type { SqlValue, Storage } from '../../src/db/storage.js'

const turn = () => new Promise((resolve) => setImmediate(resolve))

function setup (t: Test) {
  const file = path.join(t.testdir(), 'cache.sqlite')
  const storage = new SqliteStorage(file, { busyTimeoutMs: 1000 })
  storage.writer.exec(`CREATE TABLE directory_version (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
    INSERT INTO directory_version VALUES (1, 0);
    CREATE TABLE computers (id TEXT PRIMARY KEY, name TEXT NOT NULL);
    INSERT INTO computers VALUES ('c1', 'PC-10');
    CREATE TRIGGER computers_update_version AFTER UPDATE ON computers BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END;
    CREATE TABLE rows (id INTEGER PRIMARY KEY)`)
  // Another process, changing a computer.
  const other = new Database(file)
  t.teardown(async () => { await storage.close(); other.close() })
  const rename = (name: string) => other.prepare('UPDATE computers SET name = ? WHERE id = ?').run(name, 'c1')
  let reads = 0
  const counting: Pick<Storage, 'get' | 'directoryChanges'> = {
    get: <T>(sql: string, ...params: SqlValue[]) => { reads++; return storage.get<T>(sql, ...params) },
    get directoryChanges () { return storage.directoryChanges }
  }
  const cache = new DirectoryCache(counting)
  const lookup = cache.lookup<string>()
  let loads = 0
  const computerName = (since?: number) => lookup('c1', async () => {
    loads++
    return (await storage.get<{ name: string }>('SELECT name FROM computers WHERE id = ?', 'c1'))?.name
  }, since)
  return { storage, cache, rename, computerName, reads: () => reads, loads: () => loads }
}

t.test('the lookups of one request share one read of the directory version, whichever turn of the event loop they run in', async (t) => {
  const { cache, computerName, reads, loads } = setup(t)
  const since = cache.mark()
  t.equal(await computerName(since), 'PC-10')
  t.equal(reads(), 1)
  await turn()
  await turn()
  t.equal(await computerName(since), 'PC-10')
  t.equal(reads(), 1, 'a later turn, the same request: no new read')
  t.equal(loads(), 1)
  await turn()
  const reading = computerName()
  // A request arriving in the same turn (the read is answered in a later one: SQLite reads on a thread of their own).
  const next = cache.mark()
  await reading
  t.equal(reads(), 2, 'a lookup without a mark, in a later turn, reads the version again')
  await computerName(next)
  t.equal(reads(), 2, 'a request arriving in the turn of a read shares it')
  await turn()
  await computerName(cache.mark())
  t.equal(reads(), 3, 'a request arriving in a later turn does not')
})

t.test('a change another process committed before a request arrived is seen by every lookup of that request', async (t) => {
  const { cache, rename, computerName, reads } = setup(t)
  const first = cache.mark()
  t.equal(await computerName(first), 'PC-10')
  await turn()
  rename('PC-11')
  const second = cache.mark()
  t.equal(await computerName(second), 'PC-11', 'the request that arrived after the change sees it')
  t.equal(reads(), 2)
  await turn()
  t.equal(await computerName(second), 'PC-11')
  // The first request, which arrived before the change, may see the directory as of any moment since it arrived.
  t.equal(await computerName(first), 'PC-11')
  t.equal(reads(), 2)
})

t.test('a commit of this process that changes the directory drops the read; one that changes no directory table keeps it', async (t) => {
  const { storage, cache, computerName, reads } = setup(t)
  const since = cache.mark()
  await computerName(since)
  await storage.unitOfWork((tx) => tx.run('INSERT INTO rows (id) VALUES (1)'))
  await computerName(since)
  t.equal(reads(), 1, 'a unit that wrote no directory table')
  await storage.unitOfWork((tx) => tx.run('UPDATE computers SET name = ? WHERE id = ?', 'PC-12', 'c1'))
  t.equal(await computerName(since), 'PC-12', 'the process\'s own change, seen by the very next lookup')
  t.equal(reads(), 2)
})

t.test('which statements may change the directory', async (t) => {
  for (const table of DIRECTORY_TABLES) {
    t.ok(mayChangeDirectory(`INSERT INTO ${table} (id) VALUES (?)`), table)
    t.ok(mayChangeDirectory(`UPDATE ${table} SET x = ? WHERE id = ?`), table)
    t.ok(mayChangeDirectory(`  delete from ${table} WHERE id = ?`), table)
    t.notOk(mayChangeDirectory(`SELECT * FROM ${table} WHERE id = ?`), table)
  }
  t.ok(mayChangeDirectory('INSERT OR REPLACE INTO accounts (id) VALUES (?)'))
  t.ok(mayChangeDirectory('WITH gone AS (DELETE FROM computers WHERE id = ? RETURNING id) SELECT count(*) FROM gone'), 'a CTE that names one')
  t.ok(mayChangeDirectory('ALTER TABLE policies ADD COLUMN x TEXT'), 'DDL that names one')
  t.notOk(mayChangeDirectory('INSERT INTO sessions (id, novice) SELECT ?, a.name FROM accounts a WHERE a.id = ?'), 'reads a directory table, writes another')
  t.notOk(mayChangeDirectory('UPDATE invitations SET state = ? WHERE id = ?'))
  t.notOk(mayChangeDirectory('INSERT INTO computers_archive (id) VALUES (?)'), 'a table whose name starts like one')
  t.notOk(mayChangeDirectory('WITH x AS (SELECT 1) INSERT INTO audit_events (id) SELECT * FROM x'))
})
