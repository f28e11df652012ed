// npm run bench:streams (issue 20): event streams at the machine's limit. Opens BENCH_STREAMS (default 15,000)
// concurrent GET /v1/sessions/{id}/events on one instance of the built service (SQLite), measures the service's
// resident memory before and with them, then has the novice accept the session and measures the time until its
// event has reached every stream. Writes bench/streams-results.md. The goals: under 400 MiB with 15,000 streams,
// and one event to all of them within 300 ms.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { projectRoot } from '../src/paths.js'
import { prepare, serviceEnv, startProcess } from './run.js'

const STREAMS = Number(process.env['BENCH_STREAMS'] ?? 15_000)
/** Streams being opened at once. */
const OPENING = 500
const MIB = 1024 * 1024

/** The process's resident memory now and at its peak (Linux /proc), in bytes. */
function memory (pid: number): { rss: number, peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024
  return { rss: kb('VmRSS'), peak: kb('VmHWM') }
}

interface Stream { socket: net.Socket, receivedAt: number | null }

/**
 * Opens one event stream over a plain TCP connection (an HTTP/1.1 GET, as an EventSource sends it) and resolves once
 * the 200 status line has arrived; records when `event` reaches it. The bytes are only searched, not parsed into
 * objects: the client shares the machine's cores with the service, and should cost as little as it can.
 */
function open (url: URL, token: string, event: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname)
    const stream: Stream = { socket, receivedAt: null }
    const wanted = Buffer.from(`event: ${event}\n`)
    let head = true
    let tail: Buffer = Buffer.alloc(0)
    socket.setNoDelay(true)
    socket.once('connect', () => {
      socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`)
    })
    socket.on('data', (chunk: Buffer) => {
      if (head) {
        head = false
        if (!chunk.subarray(0, 15).equals(Buffer.from('HTTP/1.1 200 OK'))) {
          reject(new Error(`a stream was answered ${chunk.subarray(0, 40).toString()}`))
          socket.destroy()
          return
        }
        resolve(stream)
      }
      if (stream.receivedAt !== null) return
      // Only the end of what came before is kept: enough for a line cut in two.
      const bytes = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk
      if (bytes.includes(wanted)) stream.receivedAt = performance.now()
      tail = bytes.subarray(-64)
    })
    socket.on('error', reject)
  })
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'ra-streams-'))
const prepared = await prepare(dir, 2)
/** BENCH_CPU_PROF=folder: the service writes a V8 CPU profile there when it stops. */
const profile = process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROF']}`] : []
const service = await startProcess([...profile, path.join(projectRoot, 'dist', 'src', 'server.js')], await serviceEnv(prepared.databaseFile))
const pid = service.child.pid!
const streams: Stream[] = []
/** One of the session commands, as its party sends it. */
async function command (sessionId: string, what: string, token: string): Promise<void> {
  const res = await fetch(`${service.url}/v1/sessions/${sessionId}/${what}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(what === 'accept' ? { confirm: true } : {})
  })
  if (res.status !== 200) throw new Error(`${what}: ${res.status} ${await res.text()}`)
}

try {
  // A service that has run a while: the routes used below have answered once (the first answer of a route builds its
  // serializer's validators, tens of milliseconds), on a session of its own.
  const [spare] = JSON.parse(readFileSync(prepared.ticketsFile, 'utf8')) as string[]
  const redeemed = await fetch(`${service.url}/v1/redemptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${prepared.bob}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ticket: spare })
  })
  if (redeemed.status !== 201) throw new Error(`redeeming: ${redeemed.status} ${await redeemed.text()}`)
  const warm = (await redeemed.json() as { id: string }).id
  await command(warm, 'accept', prepared.alice)
  await command(warm, 'end', prepared.alice)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const before = memory(pid)
  const url = new URL(`${service.url}/v1/sessions/${prepared.sessionId}/events`)
  const openStart = performance.now()
  while (streams.length < STREAMS) {
    const batch = Math.min(OPENING, STREAMS - streams.length)
    streams.push(...await Promise.all(Array.from({ length: batch }, () => open(url, prepared.bob, 'session.accepted'))))
  }
  const openS = (performance.now() - openStart) / 1000
  console.log(`${streams.length} streams open in ${openS.toFixed(1)} s`)
  // Let the service settle (its first sends, the streams' timers) before reading its memory.
  await new Promise((resolve) => setTimeout(resolve, 3000))
  const held = memory(pid)
  // One event: the novice accepts; it must reach every stream.
  const sent = performance.now()
  await command(prepared.sessionId, 'accept', prepared.alice)
  const deadline = sent + 30_000
  while (streams.some((s) => s.receivedAt === null) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  const times = streams.map((s) => s.receivedAt === null ? Infinity : s.receivedAt - sent).sort((a, b) => a - b)
  const reached = times.filter(Number.isFinite).length
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!
  const after = memory(pid)
  const perStreamKiB = (held.rss - before.rss) / STREAMS / 1024
  const rows = [
    '| streams | service RSS before | with the streams | per stream | peak RSS | event to the first | to half | to all | reached |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${STREAMS} | ${(before.rss / MIB).toFixed(0)} MiB | ${(held.rss / MIB).toFixed(0)} MiB | ${perStreamKiB.toFixed(1)} KiB | ` +
      `${(after.peak / MIB).toFixed(0)} MiB | ${at(0).toFixed(0)} ms | ${at(0.5).toFixed(0)} ms | ${at(1).toFixed(0)} ms | ${reached} |`
  ]
  const goals = `Goals: under 400 MiB with 15,000 streams, at the peak (${after.peak / MIB < 400 ? 'met' : 'missed'}), one event to all within 300 ms ` +
    `(${reached === STREAMS && at(1) <= 300 ? 'met' : 'missed'}).`
  const text = `Run ${new Date().toISOString()} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}; ` +
    `the built service on SQLite, its default settings (RA_MAX_CONNECTIONS from the open-file limit); the streams opened ${OPENING} at a time ` +
    `from one client process on the same machine over plain TCP connections (${openS.toFixed(1)} s for all), each as the session's expert; ` +
    'the service has first redeemed, accepted and ended a session of its own (each route\'s first answer builds its validators); ' +
    `the event is the novice's acceptance, timed from the moment the request was sent.\n\n${rows.join('\n')}\n\n${goals}\n`
  console.log(`\n${text}`)
  writeFileSync(path.join(projectRoot, 'bench', 'streams-results.md'), `# Event streams at the machine's limit (npm run bench:streams)\n\n${text}`)
} finally {
  for (const s of streams) s.socket.destroy()
  const exited = new Promise((resolve) => service.child.once('exit', resolve))
  service.child.kill('SIGTERM')
  await exited
}
