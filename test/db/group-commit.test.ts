import path from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { openDatabase } from '../../src/db/database.js'
import { CommitFailedError, enableGroupCommit } from '../../src/db/group-commit.js'
import { newId } from '../../src/db/ids.js'
import { build } from '../helper.js'
import { world } from '../routes/invitations-helper.js'

const turn = () => new Promise((resolve) => setImmediate(resolve))

function setup (t: Test) {
  const file = path.join(t.testdir(), 'g.sqlite')
  const db = openDatabase(file, { busyTimeoutMs: 1000 })
  db.exec('CREATE TABLE rows (id TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0))')
  const group = enableGroupCommit(db)
  const reader = new Database(file, { readonly: true })
  t.teardown(() => { group.flush(); db.close(); reader.close() })
  const insert = db.transaction((n: number) => { db.prepare('INSERT INTO rows VALUES (?, ?)').run(newId(), n) })
  const count = () => (reader.prepare('SELECT count(*) AS n FROM rows').get() as { n: number }).n
  return { db, group, insert, count }
}

t.test('writes in one turn of the event loop share one commit; nothing is visible to others before it', async (t) => {
  const { group, insert, count } = setup(t)
  let notified = false
  insert(1)
  insert(2)
  group.afterCommit(() => { notified = true })
  insert(3)
  t.ok(group.pending)
  t.equal(count(), 0, 'another connection sees none of the three yet')
  t.notOk(notified, 'notifications wait for the commit')
  await group.committed()
  t.equal(count(), 3, 'all three committed together')
  t.notOk(group.pending)
  await Promise.resolve()
  t.ok(notified)
  insert(4)
  await turn()
  t.equal(count(), 4, 'the next turn commits on its own, whether or not anyone waits')
})

t.test('a caller that throws rolls back only its own changes', async (t) => {
  const { db, group, insert, count } = setup(t)
  insert(1)
  const both = db.transaction(() => { insert(2); insert(-1) })
  t.throws(() => both(), /CHECK constraint/)
  insert(3)
  await group.committed()
  t.equal(count(), 2, 'rows 1 and 3; the failed caller left nothing (not even its first insert)')
})

t.test('a failed commit loses the whole group, says so to everyone waiting, and the next group works', async (t) => {
  const { db, group, insert, count } = setup(t)
  // A real commit-time failure: a deferred foreign key left violated is checked only at COMMIT.
  db.exec(`CREATE TEMP TABLE parent (id TEXT PRIMARY KEY);
    CREATE TEMP TABLE child (parent_id TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);`)
  let notified = false
  insert(1)
  db.transaction(() => { db.prepare('INSERT INTO temp.child VALUES (?)').run('missing') })()
  group.afterCommit(() => { notified = true })
  insert(2)
  const waiting = [group.committed(), group.committed()]
  for (const w of waiting) t.ok(await w.then(() => false, (err: unknown) => err instanceof CommitFailedError), 'rejected with CommitFailedError')
  t.equal(count(), 0, 'nothing of the group was committed')
  t.notOk(notified, 'no notification for what was lost')
  t.notOk(db.inTransaction, 'rolled back')
  insert(3)
  await group.committed()
  t.equal(count(), 1)
})

t.test('every success the API acknowledges is already committed (many requests at once)', async (t) => {
  const w = await world(t)
  const reader = new Database(w.config.databaseFile, { readonly: true })
  t.teardown(() => reader.close())
  const stored = reader.prepare('SELECT count(*) AS n FROM invitations WHERE id = ?')
  const seen = await Promise.all(Array.from({ length: 60 }, () =>
    w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, w.alice).then((res) => {
      // Checked the moment the answer arrives, from another connection: it sees committed data only.
      const id = res.json().invitation.id as string
      return { status: res.statusCode, committed: (stored.get(id) as { n: number }).n }
    })))
  t.same(seen.map((s) => s.status), seen.map(() => 201))
  t.same(seen.map((s) => s.committed), seen.map(() => 1), 'each invitation was in the file when its 201 arrived')
})

t.test('when the database cannot commit, the answer is 503 STORAGE_UNAVAILABLE and nothing changed', async (t) => {
  const w = await world(t)
  const db = w.app.services.db
  const countOf = (sql: string) => (db.prepare(sql).get() as { n: number }).n
  const before = {
    invitations: countOf('SELECT count(*) AS n FROM invitations'),
    audit: countOf('SELECT count(*) AS n FROM audit_events WHERE action = \'invitation.create\'')
  }
  // Every invitation insert leaves a deferred foreign key violated: the commit fails, as on a full disk.
  db.exec(`CREATE TEMP TABLE parent (id TEXT PRIMARY KEY);
    CREATE TEMP TABLE child (parent_id TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
    CREATE TEMP TRIGGER break_commit AFTER INSERT ON main.invitations BEGIN INSERT INTO child VALUES (NEW.id); END;`)
  const res = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, w.alice)
  t.equal(res.statusCode, 503)
  t.match(res.json(), { code: 'STORAGE_UNAVAILABLE', message: /nothing was changed/ })
  t.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After')
  t.notMatch(res.body, /ticket|FOREIGN|sqlite/i, 'no ticket and no driver text in the answer')
  t.equal(countOf('SELECT count(*) AS n FROM invitations'), before.invitations, 'no invitation stored')
  t.equal(countOf('SELECT count(*) AS n FROM audit_events WHERE action = \'invitation.create\''), before.audit, 'no audit event for what did not happen')
  db.exec('DROP TRIGGER temp.break_commit')
  t.equal((await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, w.alice)).statusCode, 201, 'the next request works')
})

t.test('the app closes with a group still open: the group is committed, not lost', async (t) => {
  const dir = t.testdir()
  const app = (await build(t, {}, dir)).app
  app.services.directory.createDomain({ name: 'FABRIKAM' }, { actor: 'test', actorTokenId: null, requestId: null })
  await app.close()
  const reader = new Database(path.join(dir, 'ra.sqlite'), { readonly: true })
  t.teardown(() => reader.close())
  t.equal((reader.prepare('SELECT count(*) AS n FROM domains WHERE name = \'FABRIKAM\'').get() as { n: number }).n, 1)
})

t.test('a commit that fails while the handler awaits after its write answers 503 STORAGE_UNAVAILABLE, not 500 (invitation with inline delivery)', async (t) => {
  const w = await world(t)
  const db = w.app.services.db
  db.exec(`CREATE TEMP TABLE parent (id TEXT PRIMARY KEY);
    CREATE TEMP TABLE child (parent_id TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
    CREATE TEMP TRIGGER break_commit AFTER INSERT ON main.invitations BEGIN INSERT INTO child VALUES (NEW.id); END;`)
  const res = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', delivery: { recipients: ['bob@contoso.com'], method: 'smapi' } }, w.alice)
  t.match(res.json(), { statusCode: 503, code: 'STORAGE_UNAVAILABLE' })
  t.notOk(w.logs.some((l) => /TypeError/.test(l)), 'no handler error from reading what was rolled back')
  t.equal((db.prepare('SELECT count(*) AS n FROM invitations').get() as { n: number }).n, 0, 'nothing stored')
  t.equal((db.prepare('SELECT count(*) AS n FROM delivery_recipients').get() as { n: number }).n, 0, 'nothing queued')
  db.exec('DROP TRIGGER temp.break_commit')
})

t.test('O9: signals (policy changed, token revoked, account disabled) fire only after the change has committed', async (t) => {
  const w = await world(t)
  const reader = new Database(w.config.databaseFile, { readonly: true })
  t.teardown(() => reader.close())
  const seen: Array<{ signal: string, committed: boolean }> = []
  const signals = w.app.services.signals
  const policyStored = () => (reader.prepare("SELECT count(*) AS n FROM policies WHERE name = 'Late'").get() as { n: number }).n === 1
  const tokenRevoked = (id: string) =>
    (reader.prepare('SELECT revoked_at FROM api_tokens WHERE id = ?').get(id) as { revoked_at: string | null }).revoked_at !== null
  signals.on('policy-changed', () => seen.push({ signal: 'policy-changed', committed: policyStored() }))
  signals.on('token-revoked', (id) => seen.push({ signal: 'token-revoked', committed: tokenRevoked(id) }))
  const policy = await w.call('POST', '/v1/policies', { name: 'Late', settings: {} })
  await w.call('PUT', `/v1/domains/${w.contoso}/policy-links`, { policies: [policy.json().policy.id] })
  const token = (await w.call('POST', '/v1/tokens', { principal: { type: 'admin' } })).json()
  await w.call('DELETE', `/v1/tokens/${token.tokenInfo.id}`)
  t.ok(seen.some((s) => s.signal === 'policy-changed'), 'the policy change was signalled')
  t.ok(seen.some((s) => s.signal === 'token-revoked'), 'the revocation was signalled')
  t.same(seen.filter((s) => !s.committed), [], 'each after its change was in the database file')
})
