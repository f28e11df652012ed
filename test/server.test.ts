import { existsSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import Database from 'better-sqlite3'
import t from 'tap'
import { startServer } from '../scripts/server-process.js'
import { ADMIN_TOKEN } from './helper.js'

t.test('starts on an empty data folder, serves, and on SIGTERM finishes and closes the database', async (t) => {
  const dir = t.testdir()
  const db = path.join(dir, 'data', 'ra.sqlite')
  const server = startServer({ RA_DATABASE_FILE: db, RA_BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN })
  const url = await Promise.race([server.url, server.exit.then(({ output }) => { throw new Error(output) })])
  t.equal((await fetch(`${url}/healthz`)).status, 200)
  t.equal((await fetch(`${url}/readyz`)).status, 200)
  t.equal((await fetch(`${url}/v1/users`)).status, 401)
  const inFlight = fetch(`${url}/v1/domains`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'CONTOSO' })
  })
  // The request is on its way when the signal arrives; it must still complete.
  await new Promise((resolve) => setImmediate(resolve))
  server.kill('SIGTERM')
  const [res, { code, output }] = await Promise.all([inFlight.catch((err: Error) => err), server.exit])
  t.equal(code, 0, 'clean exit')
  t.match(output, /shutting down/)
  t.match(output, /"msg":"stopped"/)
  t.notMatch(output, ADMIN_TOKEN)
  if (!(res instanceof Error)) t.ok([201, 503].includes(res.status), `in-flight request answered (${res.status})`)
  t.notOk(existsSync(db + '-wal'), 'the database was closed (WAL checkpointed and removed)')
})

t.test('the log is written without blocking: a crash is its last line, after every answered request\'s line, and the process exits 1', async (t) => {
  const server = startServer(
    { RA_DATABASE_FILE: path.join(t.testdir(), 'ra.sqlite'), RA_BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN, RA_RATE_LIMIT_PER_MINUTE: '100000' },
    { nodeArgs: ['--import', pathToFileURL(path.join(import.meta.dirname, 'fixtures', 'crash-on-signal.mjs')).href] }
  )
  const url = await Promise.race([server.url, server.exit.then(({ output }) => { throw new Error(output) })])
  // Nobody reads the service's output for a while (a stalled log collector): its lines queue up in the
  // process, and requests are answered all the same, the log does not hold them up.
  server.child.stdout!.pause()
  const answers = await Promise.all(Array.from({ length: 800 }, () =>
    fetch(`${url}/v1/domains?limit=1`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })))
  t.ok(answers.every((r) => r.status === 200), 'answered while the log cannot be written')
  // The crash comes with lines still queued; they are written before the process ends, then its reason.
  server.kill('SIGUSR2')
  await new Promise((resolve) => setTimeout(resolve, 500))
  server.child.stdout!.resume()
  const { code, output } = await server.exit
  t.equal(code, 1, 'exits 1')
  const lines = output.trim().split('\n').map((line) => JSON.parse(line) as { level: number, msg: string, reqId?: string, err?: { message: string } })
  const last = lines.at(-1)!
  t.equal(last.level, 60, 'the last line is at level fatal')
  t.equal(last.msg, 'the service crashed')
  t.equal(last.err?.message, 'a defect nothing caught (thrown on SIGUSR2 by the test)')
  const completed = new Set(lines.filter((l) => l.msg === 'request completed').map((l) => l.reqId))
  t.same(answers.map((r) => r.headers.get('x-request-id')).filter((id) => !completed.has(id ?? '')), [], 'every answered request is in the log')
  t.notMatch(output, ADMIN_TOKEN)
})

t.test('a bad variable stops the start with a message naming it', async (t) => {
  const server = startServer({ RA_DATABASE_FILE: path.join(t.testdir(), 'ra.sqlite'), RA_PORT: 'eighty' })
  const { code, output } = await server.exit
  t.equal(code, 1)
  t.match(output, /Invalid configuration: RA_PORT/)
  t.notMatch(output, /\n\s+at /, 'no stack trace for a configuration error')
})

t.test('a changed migration stops the start with a clear message', async (t) => {
  const dir = t.testdir()
  const file = path.join(dir, 'ra.sqlite')
  const first = startServer({ RA_DATABASE_FILE: file, RA_BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN })
  await first.url
  first.kill('SIGTERM')
  t.equal((await first.exit).code, 0)
  // Simulate an edited migration: the recorded checksum no longer matches the file.
  const db = new Database(file)
  db.prepare("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1").run()
  db.close()
  const second = startServer({ RA_DATABASE_FILE: file, RA_BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN })
  const { code, output } = await second.exit
  t.equal(code, 1)
  t.match(output, /migration 001\.do\.foundation\.sql was changed after it was applied/)
})

t.test('three instances starting together on one empty database file: migrations applied once, one active signing key, all serve', async (t) => {
  const dir = t.testdir()
  const file = path.join(dir, 'ra.sqlite')
  // Three starting processes load a 2-core machine: load shedding (tested on its own) would answer 503 here.
  const servers = [0, 1, 2].map(() => startServer({ RA_DATABASE_FILE: file, RA_BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN, RA_MAX_EVENT_LOOP_DELAY_MS: '0' }))
  t.teardown(async () => {
    for (const s of servers) s.kill('SIGTERM')
    await Promise.all(servers.map((s) => s.exit))
  })
  const urls = await Promise.all(servers.map((s) => s.url))
  for (const url of urls) {
    const ready = await fetch(`${url}/readyz`)
    t.equal(ready.status, 200, `${url} is ready (${await ready.text()})`)
  }
  const db = new Database(file, { readonly: true })
  t.teardown(() => db.close())
  const versions = (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>).map((r) => r.version)
  t.same(versions, versions.map((_, i) => i + 1), `each migration recorded once (${versions.length})`)
  t.equal((db.prepare('SELECT count(*) AS n FROM signing_keys WHERE retired_at IS NULL').get() as { n: number }).n, 1, 'one active signing key')
  t.equal((db.prepare("SELECT count(*) AS n FROM api_tokens WHERE label = 'RA_BOOTSTRAP_ADMIN_TOKEN'").get() as { n: number }).n, 1,
    'the bootstrap token registered once')
  const created = await Promise.all(urls.map((url, i) => fetch(`${url}/v1/domains`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: `D${i}` })
  })))
  const bodies = await Promise.all(created.map((r) => r.text()))
  t.same(created.map((r) => r.status), [201, 201, 201], `each instance writes (${bodies.join(' | ').slice(0, 500)})`)
})
