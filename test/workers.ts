import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { projectRoot } from '../src/paths.js'
import type { WorkerOutcome, WorkerRequest } from './fixtures/inject-worker.js'

export type { WorkerOutcome, WorkerRequest }

/**
 * Runs `requests` from another service process on the same database (the
 * SQLite file, or PostgreSQL: test/fixtures/inject-worker.ts), all sent at
 * `startAt` (ms since 1970), so that several processes race for real.
 * Resolves with each outcome, in order.
 */
export function runWorker (
  database: { databaseFile: string, databaseUrl: string | undefined },
  dir: string,
  requests: WorkerRequest[],
  startAt: number,
  env: Record<string, string> = {}
): Promise<WorkerOutcome[]> {
  const file = path.join(dir, `requests-${process.hrtime.bigint()}.json`)
  writeFileSync(file, JSON.stringify(requests))
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'test', 'fixtures', 'inject-worker.ts')], {
      cwd: projectRoot,
      env: {
        ...env,
        PATH: process.env['PATH'] ?? '',
        RA_DATABASE_FILE: database.databaseFile,
        ...(database.databaseUrl === undefined ? {} : { RA_DATABASE_URL: database.databaseUrl }),
        REQUESTS_FILE: file,
        START_AT: String(startAt)
      }
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (c) => { out += c })
    child.stderr.on('data', (c) => { err += c })
    child.on('exit', (code) => code === 0 ? resolve(JSON.parse(out) as WorkerOutcome[]) : reject(new Error(err)))
  })
}

/**
 * Runs the TypeScript program `script` in a process of its own until it ends, or kills it after `killAfterMs`:
 * what it wrote to its standard output, and how it ended (its exit code, or the signal that ended it).
 */
export async function runToEnd (script: string, killAfterMs: number): Promise<{ out: string, ended: number | string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (c) => { out += c })
  const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
  const ended = await new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
  clearTimeout(killer)
  return { out, ended }
}
