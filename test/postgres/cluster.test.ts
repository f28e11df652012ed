// RA_WORKERS on PostgreSQL: a primary and two workers on one port and one database (test/cluster-helper.ts). The
// workers hear of each other's session events through LISTEN/NOTIFY, as instances do, and /metrics is merged.
import t from 'tap'
import { call, sessionEventsReachEveryWorker, twoWorkers } from '../cluster-helper.js'
import { freshPostgresDatabase } from '../engine.js'

t.test('RA_WORKERS=2 on PostgreSQL: a session event committed by either worker reaches streams on both at once (C1–C5), ' +
  'with the poll for missed events set to ten minutes; GET /metrics counts both workers\' requests', async (t) => {
  const { w, server, url } = await twoWorkers(t, { RA_STREAM_POLL_INTERVAL_MS: '600000' }, { RA_DATABASE_URL: await freshPostgresDatabase() })
  await sessionEventsReachEveryWorker(t, w, server, url)
  for (let i = 0; i < 5; i++) t.equal((await call(url, 'GET', '/v1/computers')).status, 200)
  const text = (await call(url, 'GET', '/metrics')).body as string
  t.match(text, /^ra_http_request_duration_seconds_count\{method="GET",route="\/v1\/computers",status="200"\} 5$/m, 'summed over the workers')
  t.equal(text.match(/^ra_database_size_bytes /gm)?.length, 1, 'the database size once')
})
