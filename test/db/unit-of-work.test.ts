import { readdirSync, readlinkSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import t, { type Test } from 'tap'
import { newId } from '../../src/db/ids.js'
import { SqliteStorage } from '../../src/db/sqlite-storage.js'
import { CommitFailedError, type Storage, StorageUnavailableError, type Tx } from '../../src/db/storage.js'
import { build } from '../helper.js'
import { onlyOn, TEST_ENGINE } from '../engine.js'
import { world } from '../routes/invitations-helper.js'

const turn = () => new Promise((resolve) => setImmediate(resolve))

function sqlite (t: Test) {
  const file = path.join(t.testdir(), 'g.sqlite')
  const storage = new SqliteStorage(file, { busyTimeoutMs: 1000 })
  storage.writer.exec('CREATE TABLE rows (id TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0))')
  const other = new Database(file, { readonly: true })
  t.teardown(async () => { await storage.close(); other.close() })
  const insert = (n: number) => storage.unitOfWork((tx) => tx.run('INSERT INTO rows VALUES (?, ?)', newId(), n))
  const count = () => (other.prepare('SELECT count(*) AS n FROM rows').get() as { n: number }).n
  return { storage, insert, count }
}

t.test('SQLite: the units of one turn of the event loop share one commit; each resolves only once it is committed', async (t) => {
  const { storage, insert, count } = sqlite(t)
  const notified: number[] = []
  const units = [1, 2, 3].map((n) => storage.unitOfWork(async (tx) => {
    await tx.run('INSERT INTO rows VALUES (?, ?)', newId(), n)
    tx.afterCommit(() => notified.push(n))
    return n
  }))
  await Promise.resolve()
  t.equal(count(), 0, 'another connection sees none of the three yet')
  t.same(notified, [], 'notifications wait for the commit')
  t.same(await Promise.all(units), [1, 2, 3])
  t.equal(count(), 3, 'all three were committed when they resolved')
  t.same(notified, [1, 2, 3])
  await insert(4)
  t.equal(count(), 4, 'the next turn commits on its own')
})

t.test('SQLite: reads outside a unit see committed data only', async (t) => {
  const { storage } = sqlite(t)
  let seenInside = -1
  let seenOutside = -1
  await storage.unitOfWork(async (tx) => {
    await tx.run('INSERT INTO rows VALUES (?, ?)', newId(), 1)
    seenInside = (await tx.get<{ n: number }>('SELECT count(*) AS n FROM rows'))!.n
    seenOutside = (await storage.get<{ n: number }>('SELECT count(*) AS n FROM rows'))!.n
  })
  t.equal(seenInside, 1, 'the unit sees its own change')
  t.equal(seenOutside, 0, 'a read outside it does not, before the commit')
  t.equal((await storage.get<{ n: number }>('SELECT count(*) AS n FROM rows'))!.n, 1, 'and does after')
  t.throws(() => storage.reader.exec('DELETE FROM rows'), /readonly|read-only/i, 'the reading connection cannot write')
})

t.test('SQLite: a unit that throws rolls back only its own changes', async (t) => {
  const { storage, insert, count } = sqlite(t)
  const first = insert(1)
  const failed = storage.unitOfWork(async (tx) => {
    await tx.run('INSERT INTO rows VALUES (?, ?)', newId(), 2)
    await tx.run('INSERT INTO rows VALUES (?, ?)', newId(), -1)
  })
  const third = insert(3)
  await t.rejects(failed, /CHECK constraint/)
  await first
  await third
  t.equal(count(), 2, 'rows 1 and 3; the failed unit left nothing (not even its first insert)')
})

t.test('SQLite: statements after a unit ended are refused', async (t) => {
  const { storage } = sqlite(t)
  let kept: { run: (sql: string) => Promise<number> } | null = null
  await storage.unitOfWork(async (tx) => { kept = tx })
  await t.rejects(kept!.run('DELETE FROM rows'), /unit of work has ended/)
})

t.test('SQLite: a failed commit loses the whole group, rejects every unit of it, and the next group works', async (t) => {
  const { storage, insert, count } = sqlite(t)
  // A real commit-time failure: a deferred foreign key left violated is checked only at COMMIT.
  storage.writer.exec(`CREATE TEMP TABLE parent (id TEXT PRIMARY KEY);
    CREATE TEMP TABLE child (parent_id TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);`)
  let notified = false
  const units = [
    insert(1),
    storage.unitOfWork(async (tx) => { await tx.run('INSERT INTO temp.child VALUES (?)', 'missing'); tx.afterCommit(() => { notified = true }) }),
    insert(2)
  ]
  for (const unit of units) t.ok(await unit.then(() => false, (err: unknown) => err instanceof CommitFailedError), 'rejected with CommitFailedError')
  t.equal(count(), 0, 'nothing of the group was committed')
  t.notOk(notified, 'no notification for what was lost')
  t.notOk(storage.writer.inTransaction, 'rolled back')
  await insert(3)
  t.equal(count(), 1)
})

t.test('SQLite: closing with a group open commits it', async (t) => {
  const { storage, count } = sqlite(t)
  const unit = storage.unitOfWork((tx) => tx.run('INSERT INTO rows VALUES (?, ?)', newId(), 1))
  await Promise.resolve()
  await storage.close()
  t.equal(await unit, 1)
  t.equal(count(), 1)
  await turn()
})

t.test('SQLite: a unit\'s savepoint journal stays in memory, however many pages it changes (no temporary file)', async (t) => {
  const { storage, count } = sqlite(t)
  // SQLite names its temporary files etilqs_*, and unlinks them at once: an open one shows in /proc as "(deleted)".
  const temporaryFiles = () => readdirSync('/proc/self/fd').flatMap((fd) => {
    try { return [readlinkSync(`/proc/self/fd/${fd}`)] } catch { return [] }
  }).filter((target) => /etilqs_/.test(target))
  // Rows of 3 KiB, one a page. The savepoint's journal keeps the pages that existed when it began, as they were.
  await storage.unitOfWork(async (tx) => {
    for (let n = 0; n < 200; n++) await tx.run('INSERT INTO rows VALUES (?, ?)', newId() + 'x'.repeat(3000), n)
  })
  const before = temporaryFiles().length
  let during = -1
  // Changing every one of them journals 800 KiB, past SQLite's 64 KiB spill threshold.
  await storage.unitOfWork(async (tx) => {
    await tx.run('UPDATE rows SET n = n + 1')
    during = temporaryFiles().length
  })
  t.equal(count(), 200)
  t.equal(during, before, 'no temporary file was opened for the unit')
})

t.test('SQLite: a unit waiting for another process\'s write lock leaves the event loop free; past the busy timeout it fails as unavailable', async (t) => {
  const { storage, insert, count } = sqlite(t) // busy timeout 1,000 ms
  // Another connection (as another process would) holds the write lock.
  const holder = new Database(storage.file)
  t.teardown(() => holder.close())
  holder.exec('BEGIN IMMEDIATE')
  let settled = false
  const waiting = insert(1).finally(() => { settled = true })
  // SQLite's own busy handler would have slept in this thread, and the unit would have failed before this line.
  let ticks = 0
  const timer = setInterval(() => ticks++, 10)
  await new Promise((resolve) => setTimeout(resolve, 300))
  clearInterval(timer)
  t.notOk(settled, 'the unit is still waiting for the lock')
  t.ok(ticks > 0 && storage.writeLock.waits === 1, 'timers ran meanwhile, and the unit tried again on one')
  t.equal((await storage.get<{ n: number }>('SELECT count(*) AS n FROM rows'))!.n, 0, 'reads answer meanwhile')
  holder.exec('COMMIT')
  t.equal(await waiting, 1)
  t.equal(count(), 1, 'the unit ran once the lock was free')
  t.ok(storage.writeLock.waitedSeconds >= 0.3 && storage.writeLock.heldSeconds > 0, 'the wait and the hold are counted (ra_sqlite_write_lock_*)')

  holder.exec('BEGIN IMMEDIATE')
  const started = Date.now()
  await t.rejects(insert(2), StorageUnavailableError, 'held past the busy timeout: the database is unavailable (503)')
  t.ok(Date.now() - started >= 1000, 'not before the busy timeout')
  holder.exec('ROLLBACK')
  t.equal(await insert(3), 1, 'the next unit works')
  t.equal(count(), 2)
})

/** A raw connection to the app's database, to look or to break things from outside the service. */
async function outside (t: Test, w: { config: { databaseUrl: string | undefined, databaseFile: string }, app: { services: { storage: Storage } } }) {
  if (w.config.databaseUrl !== undefined) {
    const client = new pg.Client({ connectionString: w.config.databaseUrl })
    await client.connect()
    t.teardown(() => client.end())
    return {
      count: async (sql: string, ...params: unknown[]) => {
        let i = 0
        return Number((await client.query(sql.replace(/\?/g, () => `$${++i}`), params)).rows[0].n)
      },
      exec: async (sql: string) => { await client.query(sql) }
    }
  }
  const db = new Database(w.config.databaseFile, { readonly: true })
  t.teardown(() => db.close())
  const writer = (w.app.services.storage as SqliteStorage).writer
  return {
    count: async (sql: string, ...params: unknown[]) => (db.prepare(sql).get(...params) as { n: number }).n,
    // Temporary objects on the service's own writer connection: SQLite has no other way to fail its commits.
    exec: async (sql: string) => { writer.exec(sql) }
  }
}

/** Makes every commit that inserted an invitation fail (a deferred check, run at COMMIT, as a full disk would). */
function breakCommits (engine: string): { on: string, off: string } {
  if (engine === 'postgres') {
    return {
      on: `CREATE FUNCTION break_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'commit refused'; END; $$;
        CREATE CONSTRAINT TRIGGER break_commit AFTER INSERT ON invitations DEFERRABLE INITIALLY DEFERRED
          FOR EACH ROW EXECUTE FUNCTION break_commit();`,
      off: 'DROP TRIGGER break_commit ON invitations; DROP FUNCTION break_commit();'
    }
  }
  return {
    on: `CREATE TEMP TABLE parent (id TEXT PRIMARY KEY);
      CREATE TEMP TABLE child (parent_id TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
      CREATE TEMP TRIGGER break_commit AFTER INSERT ON main.invitations BEGIN INSERT INTO child VALUES (NEW.id); END;`,
    off: 'DROP TRIGGER temp.break_commit'
  }
}

t.test('every success the API acknowledges is already committed (many requests at once)', async (t) => {
  const w = await world(t)
  const db = await outside(t, w)
  const seen = await Promise.all(Array.from({ length: 60 }, () =>
    w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, w.alice).then(async (res) => {
      // Checked the moment the answer arrives, from another connection: it sees committed data only.
      const id = res.json().invitation.id as string
      return { status: res.statusCode, committed: await db.count('SELECT count(*) AS n FROM invitations WHERE id = ?', id) }
    })))
  t.same(seen.map((s) => s.status), seen.map(() => 201))
  t.same(seen.map((s) => s.committed), seen.map(() => 1), 'each invitation was in the database when its 201 arrived')
})

t.test('deferred inserts (Sql.defer) commit with their unit, are seen by its next statement, and fail or roll back with it', async (t) => {
  const w = await world(t)
  const db = await outside(t, w)
  const storage = w.app.services.storage
  const audit = 'INSERT INTO audit_events (occurred_at, request_id, actor, actor_token_id, action, target, outcome, details) ' +
    'VALUES (?, NULL, ?, NULL, ?, NULL, ?, NULL)'
  const stored = (action: string) => db.count('SELECT count(*) AS n FROM audit_events WHERE action = ?', action)

  let seenInside = -1
  let seenOutside = -1
  await storage.unitOfWork(async (tx) => {
    await tx.defer(audit, new Date().toISOString(), 'test', 'test.deferred', 'success')
    await tx.defer(audit, new Date().toISOString(), 'test', 'test.deferred', 'success')
    seenOutside = await stored('test.deferred')
    seenInside = (await tx.get<{ n: number }>('SELECT count(*) AS n FROM audit_events WHERE action = ?', 'test.deferred'))!.n
    await tx.defer(audit, new Date().toISOString(), 'test', 'test.deferred', 'success')
  })
  t.equal(seenOutside, 0, 'nothing committed before the unit')
  t.equal(seenInside, 2, 'the unit\'s next statement sees the inserts held before it')
  t.equal(await stored('test.deferred'), 3, 'the one held at the end went with the commit')

  await t.rejects(storage.unitOfWork(async (tx) => {
    await tx.defer(audit, new Date().toISOString(), 'test', 'test.rolled-back', 'success')
    throw new Error('the unit fails')
  }), /the unit fails/)
  t.equal(await stored('test.rolled-back'), 0, 'a unit that throws keeps none of its held inserts')

  // A held insert that fails (a consent link of no session: a foreign key) fails its unit, with the other insert held beside it.
  const failing = (action: string) => async (tx: Tx) => {
    await tx.defer(audit, new Date().toISOString(), 'test', action, 'success')
    await tx.defer('INSERT INTO consent_chain (session_id, seq, entry, hash) VALUES (?, 1, ?, ?)', 'no-such-session', '{}', 'x')
  }
  const failure = await storage.unitOfWork(failing('test.failed')).then(() => null, (err: unknown) => err)
  if (TEST_ENGINE === 'postgres') {
    // Held inserts alone are the whole unit: one statement, which commits on its own (no BEGIN, no COMMIT), so its failure is the commit's.
    t.type(failure, CommitFailedError, 'the unit\'s one statement was its commit')
    t.match(String((failure as CommitFailedError).cause), /foreign key/i)
  } else {
    t.match(String(failure), /FOREIGN KEY/i)
  }
  t.equal(await stored('test.failed'), 0, 'nothing of the failed unit is kept')
  // After a statement of its own, the unit is a transaction: the held inserts fail the statement after them.
  await t.rejects(storage.unitOfWork(async (tx) => {
    await tx.get('SELECT 1')
    await failing('test.failed-in-transaction')(tx)
    await tx.get('SELECT 1')
  }), /foreign key/i)
  t.equal(await stored('test.failed-in-transaction'), 0, 'nothing of that one either')

  await t.rejects(storage.unitOfWork((tx) => tx.defer('UPDATE audit_events SET actor = ?', 'x')), /only an INSERT can be deferred/)
  await storage.unitOfWork((tx) => tx.defer(audit, new Date().toISOString(), 'test', 'test.after', 'success'))
  t.equal(await stored('test.after'), 1, 'the storage works on after each failure')
})

t.test('when the database cannot commit, the answer is 503 STORAGE_UNAVAILABLE and nothing changed', async (t) => {
  const w = await world(t)
  const db = await outside(t, w)
  const before = {
    invitations: await db.count('SELECT count(*) AS n FROM invitations'),
    audit: await db.count('SELECT count(*) AS n FROM audit_events WHERE action = \'invitation.create\'')
  }
  const fault = breakCommits(TEST_ENGINE)
  await db.exec(fault.on)
  const res = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, w.alice)
  t.equal(res.statusCode, 503)
  t.match(res.json(), { code: 'STORAGE_UNAVAILABLE', message: /nothing was changed/ })
  t.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After')
  t.notMatch(res.body, /ticket|FOREIGN|sqlite|refused/i, 'no ticket and no driver text in the answer')
  t.equal(await db.count('SELECT count(*) AS n FROM invitations'), before.invitations, 'no invitation stored')
  t.equal(await db.count('SELECT count(*) AS n FROM audit_events WHERE action = \'invitation.create\''), before.audit, 'no audit event for what did not happen')
  await db.exec(fault.off)
  t.equal((await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, w.alice)).statusCode, 201, 'the next request works')
})

t.test('a commit that fails while creating an invitation with inline delivery answers 503 STORAGE_UNAVAILABLE, not 500', async (t) => {
  const w = await world(t)
  const db = await outside(t, w)
  const fault = breakCommits(TEST_ENGINE)
  await db.exec(fault.on)
  const res = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', delivery: { recipients: ['bob@contoso.com'], method: 'smapi' } }, w.alice)
  t.match(res.json(), { statusCode: 503, code: 'STORAGE_UNAVAILABLE' })
  t.notOk(w.logs.some((l) => /TypeError/.test(l)), 'no handler error from reading what was rolled back')
  t.equal(await db.count('SELECT count(*) AS n FROM invitations'), 0, 'nothing stored')
  t.equal(await db.count('SELECT count(*) AS n FROM delivery_recipients'), 0, 'nothing queued')
  await db.exec(fault.off)
})

t.test('the app closes with a write just made: it is committed, not lost', onlyOn('sqlite'), async (t) => {
  const dir = t.testdir()
  const app = (await build(t, {}, dir)).app
  const created = app.services.directory.createDomain({ name: 'FABRIKAM' }, { actor: 'test', actorTokenId: null, requestId: null })
  await app.close()
  await created
  const reader = new Database(path.join(dir, 'ra.sqlite'), { readonly: true })
  t.teardown(() => reader.close())
  t.equal((reader.prepare('SELECT count(*) AS n FROM domains WHERE name = \'FABRIKAM\'').get() as { n: number }).n, 1)
})

t.test('O9: signals (policy changed, token revoked) fire only after the change has committed', async (t) => {
  const w = await world(t)
  const db = await outside(t, w)
  const checks: Array<Promise<{ signal: string, committed: boolean }>> = []
  const signals = w.app.services.signals
  signals.on('policy-changed', () => checks.push(db.count("SELECT count(*) AS n FROM policies WHERE name = 'Late'")
    .then((n) => ({ signal: 'policy-changed', committed: n === 1 }))))
  signals.on('token-revoked', (id) => checks.push(db.count('SELECT count(*) AS n FROM api_tokens WHERE id = ? AND revoked_at IS NOT NULL', id)
    .then((n) => ({ signal: 'token-revoked', committed: n === 1 }))))
  const policy = await w.call('POST', '/v1/policies', { name: 'Late', settings: {} })
  await w.call('PUT', `/v1/domains/${w.contoso}/policy-links`, { policies: [policy.json().policy.id] })
  const token = (await w.call('POST', '/v1/tokens', { principal: { type: 'admin' } })).json()
  await w.call('DELETE', `/v1/tokens/${token.tokenInfo.id}`)
  const seen = await Promise.all(checks)
  t.ok(seen.some((s) => s.signal === 'policy-changed'), 'the policy change was signalled')
  t.ok(seen.some((s) => s.signal === 'token-revoked'), 'the revocation was signalled')
  t.same(seen.filter((s) => !s.committed), [], 'each after its change was in the database')
})
