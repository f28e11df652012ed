// Where the machine's CPU time went during a measurement (Linux /proc): the service's processes, the PostgreSQL
// server's, the rest (the load generator, the bench itself, anything else running) and idle, as shares of all cores.
import { readdirSync, readFileSync } from 'node:fs'
export { childrenOf } from '../scripts/server-process.js'

export interface CpuSnapshot { total: number, idle: number, service: number, database: number }
/** Shares of all cores' time between two snapshots, in percent. */
export interface CpuShares { service: number, database: number, rest: number, idle: number }

/** User and system clock ticks of one process (all its threads); 0 once it has gone. */
function processTicks (pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // After the command name (in parentheses, which may hold spaces): field 3 on; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return 0
  }
}

/** The processes named `postgres` (the server and its backends). */
function postgresPids (): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(entry))
    } catch {}
  }
  return pids
}

export function cpuSnapshot (servicePids: number[]): CpuSnapshot | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number)
    return {
      total: line.reduce((sum, n) => sum + n, 0),
      // idle and iowait
      idle: line[3]! + line[4]!,
      service: servicePids.reduce((sum, pid) => sum + processTicks(pid), 0),
      database: postgresPids().reduce((sum, pid) => sum + processTicks(pid), 0)
    }
  } catch {
    return null
  }
}

export function cpuShares (before: CpuSnapshot | null, after: CpuSnapshot | null): CpuShares | null {
  if (before === null || after === null || after.total <= before.total) return null
  const total = after.total - before.total
  const share = (n: number) => Math.max(0, Math.min(100, n / total * 100))
  const service = share(after.service - before.service)
  // A backend that ended during the run takes its ticks with it: never below zero.
  const database = share(after.database - before.database)
  const idle = share(after.idle - before.idle)
  return { service, database, idle, rest: Math.max(0, 100 - service - database - idle) }
}
