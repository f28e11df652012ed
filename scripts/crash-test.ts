// Crash safety: start the real server, create invitations under load, kill it with SIGKILL at a
// random moment, start it again, and check that every invitation that got a 2xx is still there and
// that `PRAGMA integrity_check` is ok. `npm run crash-test -- 50` runs 50 rounds; the test suite runs a few.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { startServer } from './server-process.js'

const ADMIN = 'crash-test-admin-token-0123456789abcdefghij'

interface Server { url: string, child: ChildProcess, exited: Promise<void> }

async function start (databaseFile: string): Promise<Server> {
  const server = startServer({
    RA_DATABASE_FILE: databaseFile,
    RA_BOOTSTRAP_ADMIN_TOKEN: ADMIN,
    RA_RATE_LIMIT_PER_MINUTE: '1000000',
    RA_MAX_EVENT_LOOP_DELAY_MS: '0'
  })
  return { url: await server.url, child: server.child, exited: server.exit.then(() => {}) }
}

async function call (base: string, method: string, url: string, token: string, body?: unknown): Promise<{ status: number, json: any }> {
  const res = await fetch(base + url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {})
  })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : null }
}

export interface CrashReport { rounds: number, acknowledged: number, lost: string[], integrity: string[] }

export async function crashRounds (rounds: number, dir = mkdtempSync(path.join(os.tmpdir(), 'ra-crash-'))): Promise<CrashReport> {
  const file = path.join(dir, 'ra.sqlite')
  let server = await start(file)
  await call(server.url, 'POST', '/v1/directory/import', ADMIN, {
    domains: [{ name: 'CONTOSO' }],
    users: [{ name: 'CONTOSO\\alice' }],
    computers: [{ name: 'CONTOSO\\PC-1', platform: 'windows-10', users: ['CONTOSO\\alice'] }]
  })
  const alice = (await call(server.url, 'POST', '/v1/tokens', ADMIN, { principal: { type: 'user', user: 'CONTOSO\\alice' } })).json.token as string
  const acknowledged: string[] = []
  const lost: string[] = []
  const integrity: string[] = []
  for (let round = 0; round < rounds; round++) {
    let stop = false
    const workers = Array.from({ length: 8 }, async () => {
      // eslint-disable-next-line no-unmodified-loop-condition -- set by the round's timer while the workers run
      while (!stop) {
        try {
          const res = await call(server.url, 'POST', '/v1/invitations', alice, { computer: 'CONTOSO\\PC-1', lifetime: { value: 5, unit: 'minutes' } })
          if (res.status === 201) acknowledged.push(res.json.invitation.id)
        } catch {
          return // the connection died with the server
        }
      }
    })
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 400))
    server.child.kill('SIGKILL')
    stop = true
    await server.exited
    await Promise.all(workers)
    const db = new Database(file, { readonly: true })
    const check = (db.prepare('PRAGMA integrity_check').all() as Array<{ integrity_check: string }>).map((r) => r.integrity_check)
    db.close()
    if (check.join() !== 'ok') integrity.push(`round ${round}: ${check.join('; ')}`)
    server = await start(file)
    for (const id of acknowledged) {
      const res = await call(server.url, 'GET', `/v1/invitations/${id}`, alice)
      if (res.status !== 200) lost.push(id)
    }
  }
  server.child.kill('SIGTERM')
  await server.exited
  return { rounds, acknowledged: acknowledged.length, lost, integrity }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rounds = Number(process.argv[2] ?? 25)
  const report = await crashRounds(rounds)
  console.log(JSON.stringify(report, null, 2))
  process.exitCode = report.lost.length === 0 && report.integrity.length === 0 ? 0 : 1
}
