import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { projectRoot } from '../src/paths.js'
import { ADMIN_TOKEN } from './helper.js'

interface Running {
  url: Promise<string>
  exit: Promise<{ code: number | null, output: string }>
  kill: (signal: NodeJS.Signals) => void
}

/** Starts src/server.ts as its own process, the way `npm start` does (through tsx instead of a build). */
function startServer (env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src', 'server.ts')], {
    cwd: projectRoot,
    env: { PATH: process.env['PATH'] ?? '', RA_PORT: '0', RA_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  let resolveUrl: (url: string) => void
  const url = new Promise<string>((resolve) => { resolveUrl = resolve })
  const onData = (chunk: Buffer) => {
    output += chunk.toString()
    const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
    if (match) resolveUrl(match[1]!)
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const exit = new Promise<{ code: number | null, output: string }>((resolve) => child.on('exit', (code) => resolve({ code, output })))
  return { url, exit, kill: (signal) => child.kill(signal) }
}

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
