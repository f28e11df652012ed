// The plans PostgreSQL gives the statements that run on every request, on a table the size of a busy day's, with
// statistics. A prepared statement (the service names each one) runs with a generic plan from its sixth execution,
// made without the parameters' values: the plan that matters is that one, not the first five.
import t, { type Test } from 'tap'
import pg from 'pg'
import { prepared } from '../../src/db/postgres-storage.js'
import type { Sql, SqlValue } from '../../src/db/storage.js'
import { InvitationsRepository } from '../../src/repositories/invitations-repository.js'
import { SessionsRepository } from '../../src/repositories/sessions-repository.js'
import { freshPostgresDatabase } from '../engine.js'
import { outsideSql } from '../helper.js'
import { type InvitationWorld, world } from '../routes/invitations-helper.js'

t.setTimeout(300_000)

/**
 * Runs nothing: records the generic plan (EXPLAIN (GENERIC_PLAN), PostgreSQL 16 and later) of each statement a
 * repository sends, as the service would send it (`?` become `$n`), on the real database.
 */
function explaining (client: pg.Client, plans: Array<{ sql: string, plan: string }>): Sql {
  const explain = async (sql: string): Promise<void> => {
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (GENERIC_PLAN) ${prepared(sql).text}`)
    plans.push({ sql, plan: rows.map((r) => r['QUERY PLAN']).join('\n') })
  }
  return {
    engine: 'postgres',
    get: async <T>(sql: string, ..._params: SqlValue[]) => { await explain(sql); return undefined as T | undefined },
    all: async <T>(sql: string, ..._params: SqlValue[]) => { await explain(sql); return [] as T[] },
    run: async (sql: string, ..._params: SqlValue[]) => { await explain(sql); return 0 },
    insert: async (sql: string, ..._params: SqlValue[]) => { await explain(`${sql} RETURNING id`); return 0 },
    defer: async (sql: string, ..._params: SqlValue[]) => { await explain(sql) }
  }
}

t.test('the expiry check each redemption and invitation read makes reads the index of open invitations, not the table', async (t) => {
  const url = await freshPostgresDatabase()
  const w = await world(t, { RA_DATABASE_URL: url })
  await w.invite()
  // 20,000 more, most of them ended (as after a day of redemptions), then the statistics autovacuum would gather.
  await outsideSql(w.config, `INSERT INTO invitations (id, computer_id, novice_id, created_by, state, mode, lifetime_minutes, created_at, expires_at,
      kid, jti, ended_at)
    SELECT gen_random_uuid()::text, computer_id, novice_id, created_by, CASE WHEN g % 10 = 0 THEN 'open' ELSE 'redeemed' END, mode,
      lifetime_minutes, created_at, expires_at, kid, gen_random_uuid()::text, CASE WHEN g % 10 = 0 THEN NULL ELSE created_at END
    FROM invitations, generate_series(1, 20000) AS g`)
  await outsideSql(w.config, 'ANALYZE invitations')

  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  const plans: Array<{ sql: string, plan: string }> = []
  const invitations = new InvitationsRepository(explaining(client, plans))
  await invitations.anyDue(new Date().toISOString())
  await invitations.expireDue(new Date().toISOString())
  t.equal(plans.length, 2)
  for (const { sql, plan } of plans) {
    t.notMatch(plan, /Seq Scan on invitations/, `${sql.split(/\s+/).slice(0, 6).join(' ')}…: ${plan}`)
    t.match(plan, /invitations_state_expiry/, 'through the (state, expires_at) index')
  }
})

/** A fresh database with one redeemed session, and a client to it (for EXPLAIN). */
async function withSession (t: Test): Promise<{ w: InvitationWorld, sessionId: string, client: pg.Client }> {
  const url = await freshPostgresDatabase()
  const w = await world(t, { RA_DATABASE_URL: url })
  const redeemed = await w.redeem((await w.invite()).ticket)
  t.equal(redeemed.statusCode, 201, redeemed.body)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  return { w, sessionId: redeemed.json().id, client }
}

t.test('the deadline check each session read makes reads the first entry of an index for each kind of deadline, not a table', async (t) => {
  const { w, sessionId, client } = await withSession(t)
  // 20,000 more sessions, most of them ended, a tenth awaiting their novice or in control.
  await outsideSql(w.config, `INSERT INTO sessions (id, origin, invitation_id, computer_id, novice_id, expert_id, state, permitted_mode,
      created_at, updated_at, accept_deadline, control_until, control_warn_at)
    SELECT gen_random_uuid()::text, 'offer', NULL, computer_id, novice_id, expert_id,
      CASE WHEN g % 20 = 0 THEN 'awaiting-novice' WHEN g % 20 = 1 THEN 'in-control' ELSE 'ended' END, permitted_mode,
      created_at, updated_at, accept_deadline, CASE WHEN g % 20 = 1 THEN accept_deadline END, CASE WHEN g % 20 = 1 THEN accept_deadline END
    FROM sessions, generate_series(1, 20000) AS g`)
  // A control request for each, most of them answered long ago.
  await outsideSql(w.config, `INSERT INTO control_requests (id, session_id, state, requested_at, deadline, answered_at)
    SELECT gen_random_uuid()::text, id, CASE WHEN state = 'in-control' THEN 'pending' ELSE 'granted' END, created_at, accept_deadline, created_at
    FROM sessions`)
  await outsideSql(w.config, 'ANALYZE sessions')
  await outsideSql(w.config, 'ANALYZE control_requests')

  // Alone (the sweep), and in the API's read of one session.
  const plans: Array<{ sql: string, plan: string }> = []
  const sessions = new SessionsRepository(explaining(client, plans))
  await sessions.anyDue(new Date().toISOString())
  await sessions.getAndEarliestDeadline(sessionId)
  t.equal(plans.length, 2, 'one statement each')
  for (const { plan } of plans) {
    t.notMatch(plan, /Seq Scan/, plan)
    for (const index of ['sessions_state', 'control_requests_pending', 'sessions_control_until', 'sessions_control_warn_at']) {
      t.match(plan, new RegExp(index), `through ${index}`)
    }
  }
})

t.test('a session read asks whether a control request is pending and whether security events exist by index, not by reading a table', async (t) => {
  const { w, sessionId, client } = await withSession(t)
  // 20,000 more sessions, each with a control request answered long ago and a security event.
  await outsideSql(w.config, `INSERT INTO sessions (id, origin, invitation_id, computer_id, novice_id, expert_id, state, permitted_mode,
      created_at, updated_at, accept_deadline)
    SELECT gen_random_uuid()::text, 'offer', NULL, computer_id, novice_id, expert_id, 'ended', permitted_mode, created_at, updated_at, accept_deadline
    FROM sessions, generate_series(1, 20000) AS g`)
  await outsideSql(w.config, `INSERT INTO control_requests (id, session_id, state, requested_at, deadline, answered_at)
    SELECT gen_random_uuid()::text, id, 'granted', created_at, accept_deadline, created_at FROM sessions`)
  await outsideSql(w.config, `INSERT INTO session_security_summary (session_id, type, data, count, first_at, last_at, last_id)
    SELECT id, 'security.replayed-ticket', '', 1, created_at, created_at, 1 FROM sessions`)
  for (const table of ['sessions', 'control_requests', 'session_security_summary']) await outsideSql(w.config, `ANALYZE ${table}`)

  const plans: Array<{ sql: string, plan: string }> = []
  await new SessionsRepository(explaining(client, plans)).get(sessionId)
  t.equal(plans.length, 1, 'one statement')
  const { plan } = plans[0]!
  t.notMatch(plan, /Seq Scan on (control_requests|session_security_summary)/, plan)
  // Either index serves: the pending requests (few at any time) or the session's requests.
  t.match(plan, /Index (Only )?Scan using control_requests_(pending|session) on control_requests/, 'control requests through an index')
  t.match(plan, /Index (Only )?Scan using session_security_summary_\w+ on session_security_summary/, 'security events through an index')
})
