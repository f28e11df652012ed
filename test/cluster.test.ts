// RA_WORKERS on SQLite: the service as a node:cluster primary and its workers on one port and one SQLite file
// (test/cluster-helper.ts; on PostgreSQL: test/postgres/cluster.test.ts).
import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { startServer } from '../scripts/server-process.js'
import { call, sessionEventsReachEveryWorker, twoWorkers, workersOf } from './cluster-helper.js'
import type { Json } from './helper.js'

// Each test starts a cluster of service processes, some several times: 74 s for the file in a clean CI run, and 120 s
// (the runner's limit for a file) when another test run shared the machine.
t.setTimeout(300_000)

t.test('RA_WORKERS=2: two processes serve one port; a session event committed by either worker reaches streams on both at once ' +
  '(C1–C5: each party sees every transition as it happens), with the poll for missed events set to ten minutes', async (t) => {
  const { w, server, url } = await twoWorkers(t, { RA_STREAM_POLL_INTERVAL_MS: '600000' })
  await sessionEventsReachEveryWorker(t, w, server, url)
})

t.test('RA_WORKERS=2: GET /metrics answers for the whole cluster, from either worker', async (t) => {
  const { w, url } = await twoWorkers(t)
  for (let i = 0; i < 7; i++) t.equal((await call(url, 'GET', '/v1/computers')).status, 200)
  for (let i = 0; i < 2; i++) {
    const text = (await call(url, 'GET', '/metrics')).body as string
    t.match(text, /^ra_http_request_duration_seconds_count\{method="GET",route="\/v1\/computers",status="200"\} 7$/m,
      'every worker\'s requests are counted (summed)')
    // The database's gauges read one database: taken from one worker, not summed.
    const size = Number(/^ra_database_size_bytes (\d+)$/m.exec(text)?.[1])
    const db = new Database(w.config.databaseFile, { readonly: true })
    const bytes = (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number)
    db.close()
    t.equal(size, bytes, 'the database size once')
    t.equal(text.match(/^ra_database_size_bytes /gm)?.length, 1, 'one sample')
  }
})

t.test('RA_WORKERS=2: one ticket redeemed 100 times at once over both workers gives exactly one session (single use, one SQLite writer)', async (t) => {
  const { w, url } = await twoWorkers(t)
  const { ticket, invitation } = await w.invite()
  const answers = await Promise.all(Array.from({ length: 100 }, () => call(url, 'POST', '/v1/redemptions', { ticket }, w.bob)))
  t.equal(answers.filter((a) => a.status === 201).length, 1, 'one winner')
  t.same([...new Set(answers.filter((a) => a.status !== 201).map((a) => `${a.status} ${(a.body as Json).code}`))], ['409 TICKET_ALREADY_REDEEMED'])
  const db = new Database(w.config.databaseFile, { readonly: true })
  t.same(db.prepare('SELECT count(*) AS n FROM sessions WHERE invitation_id = ?').all(invitation.id), [{ n: 1 }], 'one session stored')
  db.close()
})

t.test('RA_WORKERS=2: a worker killed outright is replaced, the service answers throughout, and SIGTERM stops every process', async (t) => {
  const { server, url } = await twoWorkers(t)
  const [first, second] = workersOf(server.child.pid!)
  process.kill(second!, 'SIGKILL')
  // The surviving worker answers at once; the primary starts another.
  t.equal((await call(url, 'GET', '/v1/computers')).status, 200)
  const deadline = Date.now() + 60_000
  while (!server.output().includes('worker started again')) {
    if (Date.now() > deadline) throw new Error(`no new worker: ${server.output().slice(-2000)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.match(server.output(), /"level":50.*"worker":[01],"pid":\d+,"code":null,"signal":"SIGKILL".*a worker stopped; starting another/)
  const now = workersOf(server.child.pid!)
  t.equal(now.length, 2, 'two workers again')
  t.ok(now.includes(first!) && !now.includes(second!), 'the other worker kept running')
  for (let i = 0; i < 4; i++) t.equal((await call(url, 'GET', '/v1/computers')).status, 200)

  server.kill('SIGTERM')
  const { code, output } = await server.exit
  t.equal(code, 0, 'the primary exits 0')
  t.equal(output.match(/"msg":"stopped"/g)?.length, 3, 'each worker, then the primary, says it stopped')
  for (const pid of now) t.throws(() => process.kill(pid, 0), 'no worker is left running')
})

t.test('RA_WORKERS=2: a worker that cannot start stops the whole service with a clear error', async (t) => {
  const dir = t.testdir({ 'not-a-file': {} })
  const server = startServer({ RA_DATABASE_FILE: path.join(dir, 'not-a-file'), RA_WORKERS: '2' })
  const { code, output } = await server.exit
  t.equal(code, 1)
  t.match(output, /ra-ticket-service: worker 0 stopped before it could serve \(exit code 1\)/)
  t.notMatch(output, /Remote Assistance ticket service ready/)
})

t.test('RA_WORKERS=2: a worker that keeps stopping soon after it starts is started again after 0.5 s, then 1 s, then 2 s; ' +
  'one that ran 10 s is started again at once', async (t) => {
  const { server, url } = await twoWorkers(t)
  const STEADY_MS = 10_000
  /** The primary's "a worker stopped" lines so far: which worker, when (its log time) and after how long it is started again. */
  const stops = () => [...server.output().matchAll(/"time":(\d+),[^\n]*"worker":(\d),"pid":\d+,"code":null,"signal":"SIGKILL","restartInMs":(\d+)/g)]
    .map((m) => ({ at: Number(m[1]), worker: Number(m[2]), restartInMs: Number(m[3]) }))
  /** Waits (60 s at most) until the primary has logged `n` stops and started `restarts` workers again. */
  const until = async (n: number, restarts: number) => {
    const deadline = Date.now() + 60_000
    while (stops().length < n || (server.output().match(/worker started again/g)?.length ?? 0) < restarts) {
      if (Date.now() > deadline) throw new Error(`${n} stops and ${restarts} restarts not logged: ${server.output().slice(-2000)}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  /** Kills the worker that is not `spared`; returns how long since it was forked (null: not known). */
  let spared: number | undefined
  let forkedAt: number | null = null
  const killOne = (): number | null => {
    const pids = workersOf(server.child.pid!)
    spared ??= pids[0]
    const ranMs = forkedAt === null ? null : Date.now() - forkedAt
    process.kill(pids.find((pid) => pid !== spared)!, 'SIGKILL')
    return ranMs
  }
  // Three times: the replacement is killed as soon as it serves. Each delay doubles the one before, unless the worker
  // had run 10 s (a slow start on a loaded machine), which starts the count again; around 10 s either may happen.
  const expected = (ranMs: number | null, before: number | undefined): number[] => {
    const quick = before === undefined || before === 0 ? [500] : [before * 2]
    if (ranMs === null) return [0, 500] // the first worker: its fork time is not logged
    if (ranMs < STEADY_MS - 1000) return quick
    if (ranMs > STEADY_MS + 1000) return [0]
    return [0, ...quick]
  }
  let before: number | undefined
  for (let round = 1; round <= 3; round++) {
    const ranMs = killOne()
    await until(round, round - 1)
    const stop = stops()[round - 1]!
    t.ok(expected(ranMs, before).includes(stop.restartInMs), `stop ${round}: started again after ${stop.restartInMs} ms ` +
      `(the worker ran ${ranMs ?? '?'} ms; the delay before was ${before ?? '-'} ms)`)
    if (round > 1) t.equal(stop.worker, stops()[0]!.worker, 'the same worker each time')
    before = stop.restartInMs
    forkedAt = stop.at + stop.restartInMs
    await until(round, round)
  }
  t.equal((await call(url, 'GET', '/v1/computers')).status, 200)

  // One that has served 10 s is started again at once.
  while (Date.now() - forkedAt! < STEADY_MS + 500) await new Promise((resolve) => setTimeout(resolve, 100))
  killOne()
  await until(4, 3)
  t.equal(stops()[3]!.restartInMs, 0, 'a worker that ran 10 s is started again at once')
  await until(4, 4)
  t.equal(workersOf(server.child.pid!).length, 2, 'two workers again')
})

t.test('RA_WORKERS=2: SIGTERM while the workers start stops them and exits 0, without a "ready"', async (t) => {
  const dir = t.testdir()
  const server = startServer({ RA_DATABASE_FILE: path.join(dir, 'ra.sqlite'), RA_WORKERS: '2' })
  // As soon as the first worker exists: it is still starting (migrations, the first token, then listening).
  const deadline = Date.now() + 30_000
  let starting: number[] = []
  while (starting.length === 0) {
    if (server.child.exitCode !== null || Date.now() > deadline) throw new Error(`no worker started: ${server.output().slice(-2000)}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
    starting = workersOf(server.child.pid!)
  }
  server.kill('SIGTERM')
  const { code, output } = await server.exit
  t.equal(code, 0, 'a stop asked for, not a failed start')
  t.match(output, /"cluster":"primary"[^\n]*"signal":"SIGTERM"[^\n]*"msg":"shutting down"/)
  t.notMatch(output, /Server listening at/, 'no worker got to listen')
  t.notMatch(output, /ticket service ready/)
  t.notMatch(output, /stopped before it could serve/, 'not reported as a failed start')
  for (const pid of starting) t.throws(() => process.kill(pid, 0), 'the starting worker is gone')
})
