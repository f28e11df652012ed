// The storage's cross-instance locks on a real PostgreSQL: two storages on one database stand for two instances.
import t, { type Test } from 'tap'
import { migratePostgres } from '../../src/db/migrate-postgres.js'
import { PostgresStorage } from '../../src/db/postgres-storage.js'
import { migrationsDir } from '../../src/paths.js'
import { LimitsRepository } from '../../src/repositories/limits-repository.js'
import { deadlockVictim, freshPostgresDatabase } from '../engine.js'

async function oneInstance (t: Test) {
  const url = await freshPostgresDatabase()
  const storage = await PostgresStorage.connect({ url, poolSize: 3 })
  t.teardown(() => storage.close())
  return { url, storage }
}

async function twoInstances (t: Test) {
  const url = await freshPostgresDatabase()
  const [a, b] = await Promise.all([0, 1].map(() => PostgresStorage.connect({ url, poolSize: 3 })))
  t.teardown(async () => { await a!.close(); await b!.close() })
  await a!.unitOfWork((tx) => tx.run('CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)'))
  await a!.unitOfWork((tx) => tx.run('INSERT INTO counter VALUES (1, 0)'))
  return { a: a!, b: b! }
}

t.test('background work (sweeps, purges) runs on one instance at a time; the other skips its turn', async (t) => {
  const { a, b } = await twoInstances(t)
  let release!: () => void
  const holding = new Promise<void>((resolve) => { release = resolve })
  let entered!: () => void
  const inside = new Promise<void>((resolve) => { entered = resolve })
  const onA = a.exclusively('sweep', async () => { entered(); await holding })
  await inside
  let ranOnB = false
  t.equal(await b.exclusively('sweep', async () => { ranOnB = true }), false, 'B skips while A sweeps')
  t.notOk(ranOnB)
  t.equal(await b.exclusively('purge', async () => {}), true, 'another kind of work is not held up')
  release()
  t.equal(await onA, true)
  t.equal(await b.exclusively('sweep', async () => { ranOnB = true }), true, 'once A is done, B takes its turn')
  t.ok(ranOnB)
})

t.test('an instance that dies holding the lock holds nothing: its connection ends, and so does the lock', async (t) => {
  const { a, b } = await twoInstances(t)
  let entered!: () => void
  const inside = new Promise<void>((resolve) => { entered = resolve })
  // A's work never finishes: the instance is killed in the middle of it.
  a.exclusively('sweep', async () => { entered(); await new Promise(() => {}) }).catch(() => {})
  await inside
  t.equal(await b.exclusively('sweep', async () => {}), false)
  // The way a killed process's connections end: the server terminates them.
  await b.run("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted")
  let took = false
  for (let i = 0; i < 50 && !took; i++) {
    took = await b.exclusively('sweep', async () => {})
    if (!took) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(took, 'B takes the work over')
})

t.test('Unit.lock: check-then-write units holding the same name run one after the other, across instances', async (t) => {
  const { a, b } = await twoInstances(t)
  // Each unit reads the counter, waits a little, and writes it plus one: without the lock, increments are lost.
  const increment = (storage: PostgresStorage) => storage.unitOfWork(async (tx) => {
    await tx.lock('counter')
    const { n } = (await tx.get<{ n: number }>('SELECT n FROM counter WHERE id = 1'))!
    await new Promise((resolve) => setTimeout(resolve, 5))
    await tx.run('UPDATE counter SET n = ? WHERE id = 1', n + 1)
  })
  await Promise.all(Array.from({ length: 20 }, (_, i) => increment(i % 2 === 0 ? a : b)))
  t.same(await a.get('SELECT n FROM counter WHERE id = 1'), { n: 20 }, 'no increment lost')
})

t.test('rate-limit hits on the same keys, listed in any order by several instances at once, never deadlock', async (t) => {
  const url = await freshPostgresDatabase()
  const [a, b] = await Promise.all([0, 1].map(() => PostgresStorage.connect({ url, poolSize: 3 })))
  t.teardown(async () => { await a!.close(); await b!.close() })
  await migratePostgres(a!, migrationsDir('postgres'))
  // Each instance counts a turn's hits on the keys it met first, first: a failed authentication and a redemption
  // arrive in one order on one instance and in the other order on the other. Rows locked in those orders deadlock.
  const keys = ['auth-failure:192.0.2.1', 'redeem-token:t1', 'redeem-address:192.0.2.1']
  const [onA, onB] = [a!, b!].map((s) => new LimitsRepository(s))
  const rounds = 60
  const settled = await Promise.allSettled(Array.from({ length: rounds }, (_, i) => [
    onA!.hit(keys.map((k) => [k, 1]), 60_000),
    onB!.hit([...keys].reverse().map((k) => [k, 1]), 60_000),
    onA!.hit([keys[1]!, keys[2]!, keys[0]!].map((k) => [k, 1] as const), 60_000, Date.now() + i)
  ]).flat())
  const failed = settled.filter((s) => s.status === 'rejected').map((s) => String(s.reason))
  t.same(failed, [], 'every hit counted')
  t.same(await a!.all('SELECT key, count FROM limit_windows ORDER BY key'), keys.toSorted().map((key) => ({ key, count: rounds * 3 })))
})

t.test('a statement outside a unit that a deadlock rolls back runs again, and counts once', async (t) => {
  const { url, storage } = await oneInstance(t)
  const outcome = await deadlockVictim(url, () =>
    storage.run('INSERT INTO counter VALUES (2, 0), (1, 0) ON CONFLICT (id) DO UPDATE SET n = counter.n + 10'))
  t.equal(outcome.status, 'fulfilled', outcome.status === 'rejected' ? String(outcome.reason) : 'ran again once the other committed')
  t.same(await storage.all('SELECT id, n FROM counter ORDER BY id'), [{ id: 1, n: 11 }, { id: 2, n: 11 }], 'each counted once')
  t.ok(storage.conflicts.retried >= 1, 'counted for /metrics')
  t.equal(storage.conflicts.failed, 0)
})

t.test('a unit of work that a deadlock rolls back runs again from the start', async (t) => {
  const { url, storage } = await oneInstance(t)
  let runs = 0
  const outcome = await deadlockVictim(url, () => storage.unitOfWork(async (tx) => {
    runs++
    await tx.run('UPDATE counter SET n = n + 10 WHERE id = 2')
    await tx.run('UPDATE counter SET n = n + 10 WHERE id = 1')
  }))
  t.equal(outcome.status, 'fulfilled', outcome.status === 'rejected' ? String(outcome.reason) : 'committed on its second run')
  t.equal(runs, storage.conflicts.retried + 1, 'run again as often as it was rolled back')
  t.same(await storage.all('SELECT id, n FROM counter ORDER BY id'), [{ id: 1, n: 11 }, { id: 2, n: 11 }], 'the runs rolled back left nothing')
  t.ok(storage.conflicts.retried >= 1)
  t.equal(storage.conflicts.failed, 0)
})
