import t from 'tap'
import type { SqliteStorage } from '../../src/db/sqlite-storage.js'
import { onlyOn } from '../engine.js'
import { build } from '../helper.js'
import { world } from '../routes/invitations-helper.js'

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
