// npm run bench:ablation (issue 20): the fixed cost of a request, hook by hook. The service (bench/ablation-server.ts,
// the real app in a profiling build) answers GET /healthz (no authentication) and GET /v1/bench/noop (authenticated,
// nothing else) with every per-request hook, then with each left out in turn, then with all of them and the
// request log left out; each against the baseline fastify server. The variants (and the baseline) run in turn,
// BENCH_ROUNDS times (default 3), and each figure is the median of its rounds: one process's run varies by more
// than most hooks cost. Writes bench/ablation-results.md.
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { projectRoot } from '../src/paths.js'
import { HOOKS, type HookName } from './ablation-hooks.js'
import { load, measureBaseline, prepare, serviceEnv, startProcess, type Row } from './run.js'

interface Variant { name: string, ablate: HookName[], logLevel: string }

const hooks = Object.keys(HOOKS) as HookName[]
const variants: Variant[] = [
  { name: 'the service as it runs', ablate: [], logLevel: 'info' },
  ...hooks.map((h) => ({ name: `without ${h}`, ablate: [h], logLevel: 'info' })),
  { name: 'without the request log (level silent)', ablate: [], logLevel: 'silent' },
  { name: 'without all of the above', ablate: hooks, logLevel: 'silent' }
]

async function measure (variant: Variant, prepared: Awaited<ReturnType<typeof prepare>>): Promise<{ health: Row, noop: Row }> {
  const service = await startProcess(['--import', 'tsx', path.join(projectRoot, 'bench', 'ablation-server.ts')], {
    ...await serviceEnv(prepared.databaseFile),
    RA_LOG_LEVEL: variant.logLevel,
    BENCH_ABLATE: variant.ablate.join(',')
  })
  try {
    const health = { name: 'GET /healthz', ...await load({ url: `${service.url}/healthz`, method: 'GET', headers: {} }) }
    const noop = {
      name: 'GET /v1/bench/noop',
      ...await load({ url: `${service.url}/v1/bench/noop`, method: 'GET', headers: { authorization: `Bearer ${prepared.alice}` } })
    }
    for (const r of [health, noop]) if (r.errors > 0 || r.non2xx > 0) throw new Error(`${variant.name}, ${r.name}: ${r.errors} errors, ${r.non2xx} non-2xx`)
    return { health, noop }
  } finally {
    const exited = new Promise((resolve) => service.child.once('exit', resolve))
    service.child.kill('SIGTERM')
    await exited
  }
}

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3)

/** The run with the median requests/s. */
function median (rows: Row[]): Row {
  return [...rows].sort((a, b) => a.rps - b.rps)[Math.floor(rows.length / 2)]!
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'ra-ablation-'))
const prepared = await prepare(dir, 10)
const baselines: Row[] = []
const runs = variants.map(() => ({ health: [] as Row[], noop: [] as Row[] }))
for (let round = 1; round <= ROUNDS; round++) {
  console.log(`round ${round} of ${ROUNDS}: baseline …`)
  baselines.push(await measureBaseline())
  for (const [i, variant] of variants.entries()) {
    console.log(`round ${round} of ${ROUNDS}: ${variant.name} …`)
    const { health, noop } = await measure(variant, prepared)
    runs[i]!.health.push(health)
    runs[i]!.noop.push(noop)
  }
}
const baseline = median(baselines)
const results = variants.map((variant, i) => ({ variant, health: median(runs[i]!.health), noop: median(runs[i]!.noop) }))

const full = results[0]!
const pct = (r: Row) => `${(r.rps / baseline.rps * 100).toFixed(0)} %`
// At saturation each request costs the process 1/rps seconds; what a hook saves is the difference.
const saved = (r: Row, from: Row) => `${((1 / from.rps - 1 / r.rps) * 1e6).toFixed(1)}`
const lines = [
  '| variant | /healthz req/s | ratio | µs saved | /v1/bench/noop req/s | ratio | p99 ms | µs saved |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
  `| baseline POST (fastify, validated body, the service's logging) | ${baseline.rps.toFixed(0)} | 100 % | | | | ${baseline.p99} | |`,
  ...results.map(({ variant, health, noop }) => {
    const first = variant === full.variant
    return `| ${variant.name} | ${health.rps.toFixed(0)} | ${pct(health)} | ${first ? '' : saved(health, full.health)} | ` +
      `${noop.rps.toFixed(0)} | ${pct(noop)} | ${noop.p99} | ${first ? '' : saved(noop, full.noop)} |`
  })
]
const header = `Run ${new Date().toISOString()} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}; ` +
  `${process.env['BENCH_CONNECTIONS'] ?? 50} connections; SQLite; load generator on the same machine; each figure the median of ${ROUNDS} rounds ` +
  `(baseline over the rounds: ${baselines.map((b) => b.rps.toFixed(0)).join(', ')} requests/s).\n\n` +
  'Each variant is a fresh process of bench/ablation-server.ts: the real app with the named per-request hooks not added. ' +
  '"µs saved" is what leaving the hook out takes off each request at saturation (1/rps before minus 1/rps after); ' +
  'authentication is what /v1/bench/noop costs beyond /healthz in the same variant: ' +
  `${((1 / full.noop.rps - 1 / full.health.rps) * 1e6).toFixed(1)} µs in the service as it runs.`
const text = `${header}\n\n${lines.join('\n')}\n`
console.log(`\n${text}`)
writeFileSync(path.join(projectRoot, 'bench', 'ablation-results.md'), `# Fixed cost per request (npm run bench:ablation)\n\n${text}`)
