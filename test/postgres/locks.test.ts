// The storage's cross-instance locks on a real PostgreSQL: two storages on one database stand for two instances.
import t, { type Test } from 'tap'
import { PostgresStorage } from '../../src/db/postgres-storage.js'
import { freshPostgresDatabase } from '../engine.js'

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
