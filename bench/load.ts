// Drives one endpoint with autocannon, in its own process: warm-up, then the measured run.
// Input (JSON in argv[2]): url, method, headers, body, ticketsFile?, connections, warmupS, durationS.
// Output: one JSON line with requests/s, latency p50/p99 (ms), errors and non-2xx responses.
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'

interface Job {
  url: string
  method: 'GET' | 'POST'
  headers: Record<string, string>
  body?: string
  ticketsFile?: string
  connections: number
  warmupS: number
  durationS: number
  warmupRequests?: number
  measuredRequests?: number
}
const job = JSON.parse(process.argv[2]!) as Job
const tickets = job.ticketsFile ? JSON.parse(readFileSync(job.ticketsFile, 'utf8')) as string[] : null
let next = 0

/** A run of `durationS` seconds, or of exactly `amount` requests (when tickets are counted). */
function run (durationS: number, amount?: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({
      url: job.url,
      connections: job.connections,
      ...(amount !== undefined ? { amount } : { duration: durationS }),
      requests: [{
        method: job.method,
        headers: job.headers,
        ...(job.body !== undefined ? { body: job.body } : {}),
        // Every redemption redeems a fresh ticket prepared beforehand.
        ...(tickets ? { setupRequest: (req: any) => ({ ...req, body: JSON.stringify({ ticket: tickets[next++ % tickets.length] }) }) } : {})
      }]
    }, (err, result) => err ? reject(err) : resolve(result))
  })
}

if (job.warmupRequests !== undefined) await run(0, job.warmupRequests)
else if (job.warmupS > 0) await run(job.warmupS)
const r = await run(job.durationS, job.measuredRequests)
process.stdout.write(JSON.stringify({
  // Over the whole run (a counted run's per-second buckets are too coarse to average).
  rps: r.duration > 0 ? r.requests.total / r.duration : r.requests.average,
  p50: r.latency.p50,
  p99: r.latency.p99,
  errors: r.errors + r.timeouts,
  non2xx: r.non2xx,
  // Each status code's count, e.g. { "201": 18000, "503": 12 }.
  statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([code, { count }]) => [code, count])),
  total: r.requests.total,
  ticketsUsed: tickets ? next : null,
  // Redemptions that reused a ticket because the prepared ones ran out (those answer 4xx, and count as non-2xx).
  ticketsReused: tickets ? Math.max(0, next - tickets.length) : 0,
  ticketsAvailable: tickets ? tickets.length : null
}) + '\n')
