// npm run bench:statements: the SQL statements one request of each measured endpoint sends to PostgreSQL (a
// PostgreSQL started here, as `npm run bench` does), counted and listed in order as the pg driver sends them. On
// PostgreSQL each statement is a round trip, and their number is most of what a request costs there (README,
// "Performance"). Requests run one at a time through app.inject, after a first one of each (caches warm).
import { mkdtempSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startPostgres } from '../scripts/embedded-postgres.js'
import { recordStatements } from '../scripts/pg-statements.js'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { ADMIN, prepare } from './run.js'

const server = await startPostgres()
try {
  const prepared = await prepare(mkdtempSync(path.join(os.tmpdir(), 'ra-statements-')), 4, server.url)
  const tickets = JSON.parse(readFileSync(prepared.ticketsFile, 'utf8')) as string[]
  const app = await buildApp(loadConfig({
    RA_DATABASE_URL: server.url,
    RA_BOOTSTRAP_ADMIN_TOKEN: ADMIN,
    RA_LOG_LEVEL: 'error',
    RA_PUBLIC_BASE_URL: 'http://127.0.0.1:8080',
    RA_DELIVERY_POLL_MS: '600000'
  }))
  const { sent, restore } = recordStatements()
  const requests = {
    'POST /v1/invitations': (i: number) => ({ method: 'POST', url: '/v1/invitations', token: prepared.alice, payload: { computer: 'CONTOSO\\PC-0042' }, i }),
    'POST /v1/redemptions': (i: number) => ({ method: 'POST', url: '/v1/redemptions', token: prepared.bob, payload: { ticket: tickets[i] }, i }),
    'GET /v1/sessions/{id}': (i: number) => ({ method: 'GET', url: `/v1/sessions/${prepared.sessionId}`, token: prepared.bob, i })
  }
  const lines: string[] = []
  for (const [name, make] of Object.entries(requests)) {
    for (const i of [0, 1]) {
      const { method, url, token, payload } = make(i) as { method: 'GET' | 'POST', url: string, token: string, payload?: object }
      sent.length = 0
      const res = await app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) })
      if (res.statusCode >= 300) throw new Error(`${name}: ${res.statusCode} ${res.body}`)
      if (i === 0) continue // the first warms the caches
      lines.push(`${name}: ${sent.length} statements`, ...sent.map((s, n) => `  ${String(n + 1).padStart(2)}. ${s.slice(0, 150)}`), '')
    }
  }
  restore()
  await app.close()
  console.log(lines.join('\n'))
} finally {
  await server.stop()
}
