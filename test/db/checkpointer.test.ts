import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { SqliteStorage } from '../../src/db/sqlite-storage.js'
import { projectRoot } from '../../src/paths.js'
import { onlyOn } from '../engine.js'
import { build } from '../helper.js'
import { world } from '../routes/invitations-helper.js'
import { runToEnd } from '../workers.js'

t.test('WAL checkpoints run on a worker thread, off the request path, and copy everything committed', onlyOn('sqlite'), async (t) => {
  const w = await world(t, { RA_DB_CHECKPOINT_INTERVAL_MS: '20' })
  const checkpoints = w.app.services.checkpoints!
  t.ok(checkpoints, 'a checkpoint worker runs')
  const { writer } = w.app.services.storage as SqliteStorage
  t.equal(writer.pragma('wal_autocheckpoint', { simple: true }), 10_000, 'requests checkpoint themselves only as a backstop')
  await Promise.all(Array.from({ length: 50 }, () => w.invite()))
  const before = checkpoints.runs
  // The first one may have started before the last commit; the one after it has everything. A run may also
  // find an empty log, when a write (a group still open) has just restarted the WAL: take the next one then.
  let result = await checkpoints.next()
  for (let i = 0; i < 20 && (result.log !== result.checkpointed || result.log === 0); i++) result = await checkpoints.next()
  t.ok(checkpoints.runs > before)
  t.match(result, { ok: true, busy: 0 })
  t.ok(result.log! > 0, 'there was WAL to copy')
  t.equal(result.checkpointed, result.log, 'every committed page copied into the database file')
})

t.test('RA_DB_CHECKPOINT_INTERVAL_MS=0 leaves checkpoints to SQLite, inline', onlyOn('sqlite'), async (t) => {
  const { app } = await build(t, { RA_DB_CHECKPOINT_INTERVAL_MS: '0' })
  t.equal(app.services.checkpoints, null)
  t.equal((app.services.storage as SqliteStorage).writer.pragma('wal_autocheckpoint', { simple: true }), 1000)
})

t.test('the checkpoint worker keeps no process alive: a program that never stops it still ends on its own', onlyOn('sqlite'), async (t) => {
  const script = path.join(t.testdir(), 'forget-to-stop.ts')
  writeFileSync(script, `import { openDatabase } from ${JSON.stringify(path.join(projectRoot, 'src', 'db', 'database.ts'))}
import { Checkpointer } from ${JSON.stringify(path.join(projectRoot, 'src', 'db', 'checkpointer.ts'))}
const file = ${JSON.stringify(path.join(t.testdir(), 'ra.sqlite'))}
const db = openDatabase(file, { busyTimeoutMs: 1000 })
const checkpoints = new Checkpointer(db, file, { intervalMs: 20, busyTimeoutMs: 1000, onError: (m) => console.error(m) })
// A checkpoint has run (the worker answers), then nothing else is left to do.
const result = await checkpoints.next()
process.stdout.write(JSON.stringify(result.ok) + '\\n')
`)
  const { out, ended: code } = await runToEnd(script, 15_000)
  t.equal(out.trim(), 'true', 'the worker checkpointed')
  t.equal(code, 0, 'and the process ended on its own, without stop()')
})
