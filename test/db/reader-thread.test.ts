import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { ReaderThread } from '../../src/db/reader-thread.js'
import { SqliteStorage } from '../../src/db/sqlite-storage.js'

const OPTIONS = { busyTimeoutMs: 1000, cacheSize: -2000, statementCacheLimit: 10 }

t.test('SQLite reads on their thread: each sees what this process committed before it was sent, answered in the order sent', async (t) => {
  const storage = new SqliteStorage(path.join(t.testdir(), 'r.sqlite'), { busyTimeoutMs: 1000 })
  t.teardown(() => storage.close())
  storage.writer.exec('CREATE TABLE rows (n INTEGER NOT NULL)')
  const seen: number[] = []
  const answered: number[] = []
  for (let i = 1; i <= 20; i++) {
    await storage.unitOfWork((tx) => tx.run('INSERT INTO rows VALUES (?)', i))
    seen.push((await storage.get<{ n: number }>('SELECT count(*) AS n FROM rows'))!.n)
  }
  t.same(seen, Array.from({ length: 20 }, (_, i) => i + 1), 'a read after a commit sees it')
  // More distinct statements than the thread's statement cache holds (10 here): it is emptied and filled again.
  await Promise.all(Array.from({ length: 50 }, (_, i) =>
    storage.all<{ n: number }>(`SELECT n FROM rows WHERE n > ${i % 20} ORDER BY n`).then((rows) => {
      t.equal(rows.length, 20 - (i % 20))
      answered.push(i)
    })))
  t.same(answered, Array.from({ length: 50 }, (_, i) => i), 'answered in the order sent')
})

t.test('SQLite reads on their thread: an error fails that read alone, with SQLite\'s code', async (t) => {
  const file = path.join(t.testdir(), 'e.sqlite')
  new Database(file).close()
  const reads = new ReaderThread(file, OPTIONS)
  t.teardown(() => reads.close())
  await t.rejects(reads.get("SELECT json_extract('not json', '$')", []), { message: /malformed JSON/, code: 'SQLITE_ERROR' })
  t.same(await reads.get('SELECT ? + 1 AS n', [41]), { n: 42 })
  t.same(await reads.all('SELECT 1 AS n WHERE 0', []), [])
  t.equal(await reads.get('SELECT 1 AS n WHERE 0', []), undefined)
  await reads.close()
  await t.rejects(reads.get('SELECT 1', []), /the database's reading thread is closed/)
})

t.test('SQLite reads on their thread: when it dies, the reads it held fail and the next read starts a new one', async (t) => {
  const file = path.join(t.testdir(), 'd.sqlite')
  new Database(file).close()
  // Holds every read until "die", then exits: as a thread that crashes with reads in hand.
  const reads = new ReaderThread(file, OPTIONS, `
const { parentPort } = require('node:worker_threads')
parentPort.on('message', (m) => {
  if (m === 'close') return parentPort.close()
  if (m.sql === 'die') process.exit(9)
  if (m.sql === 'hold') return
  parentPort.postMessage({ id: m.id, result: { sql: m.sql } })
})`)
  t.teardown(() => reads.close())
  t.same(await reads.get('before', []), { sql: 'before' })
  const held = [reads.get('hold', []), reads.all('hold', []), reads.get('die', [])]
  for (const p of held) await t.rejects(p, /the database's reading thread exited \(9\)/)
  t.same(await reads.get('after', []), { sql: 'after' }, 'a new thread answers')
})
