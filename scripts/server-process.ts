// The real server as its own process, the way `npm start` runs it (through tsx instead of a build),
// for tests and scripts that need a listening service: crash safety, floods, shutdown.
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { projectRoot } from '../src/paths.js'

export interface ServerProcess {
  /** `http://127.0.0.1:<port>`, once the server listens; rejects if it exits first. */
  url: Promise<string>
  /** Resolves when the process has exited, with its exit code (null after a signal) and everything it printed. */
  exit: Promise<{ code: number | null, signal: NodeJS.Signals | null, output: string }>
  child: ChildProcess
  /** Everything printed so far. */
  output: () => string
  kill: (signal: NodeJS.Signals) => void
}

/**
 * Starts src/server.ts on a free loopback port with `env` (only PATH is
 * inherited). `openFileLimit` sets the process's open-file limit (`ulimit -n`)
 * before it starts; `nodeArgs` go to node before the server (a test's `--import`).
 */
export function startServer (env: Record<string, string>, options: { openFileLimit?: number, nodeArgs?: string[] } = {}): ServerProcess {
  const node = [process.execPath, ...options.nodeArgs ?? [], '--import', 'tsx', path.join(projectRoot, 'src', 'server.ts')]
  const [command, ...args] = options.openFileLimit === undefined
    ? node
    : ['/bin/sh', '-c', `ulimit -n ${Math.floor(options.openFileLimit)} && exec "$@"`, 'sh', ...node]
  const child = spawn(command!, args, {
    cwd: projectRoot,
    env: { PATH: process.env['PATH'] ?? '', RA_HOST: '127.0.0.1', RA_PORT: '0', RA_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  const exit = new Promise<{ code: number | null, signal: NodeJS.Signals | null, output: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, output })))
  const url = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (m) resolve(m[1]!)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    exit.then(() => reject(new Error(`server exited before listening: ${output.slice(-500)}`)), () => {})
  })
  // A caller that only awaits `exit` must not see an unhandled rejection from `url`.
  url.catch(() => {})
  return { url, exit, child, output: () => output, kill: (signal) => child.kill(signal) }
}

/** The child processes of `pid` (a cluster's workers), from every thread's children list (Linux); none where /proc is not there. */
export function childrenOf (pid: number): number[] {
  try {
    return [...new Set(readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)))]
  } catch {
    return []
  }
}
