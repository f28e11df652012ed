// What one request sends to PostgreSQL, where each statement is a round trip (bench:statements lists them):
// the directory cache's counter (directory_version) is read once per request, however many cached lookups
// (token, computer, resultant policy, signing key) it makes and in whichever turns, and not again after its
// own unit of work commits when that unit changed no directory table; and a session without a pending control
// request or security events is read in one statement. Which webhook subscriptions want an event is cached too.
import t from 'tap'
import { recordStatements } from '../../scripts/pg-statements.js'
import { freshPostgresDatabase } from '../engine.js'
import { SharedLimit } from '../../src/services/limits.js'
import { outsideRows } from '../helper.js'
import { world } from '../routes/invitations-helper.js'

t.setTimeout(300_000)

t.test('a creation, a redemption and a session read each read the directory version once', async (t) => {
  // Background work off (the outboxes' polls, the timeouts' sweep): only the requests' own statements are recorded.
  const w = await world(t, { RA_DATABASE_URL: await freshPostgresDatabase(), RA_DELIVERY_POLL_MS: '600000', RA_SWEEP_INTERVAL_MS: '600000' })
  await w.app.services.purges!.idle() // the retention purge, run once at start
  const recorder = recordStatements()
  recorder.recording = false
  t.teardown(recorder.restore)
  const recorded = async <T>(request: () => Promise<T>): Promise<{ result: T, statements: string[] }> => {
    // Caches warm, and the turn of any earlier read over.
    await new Promise((resolve) => setTimeout(resolve, 20))
    recorder.sent.length = 0
    recorder.recording = true
    try {
      return { result: await request(), statements: [...recorder.sent] }
    } finally {
      recorder.recording = false
    }
  }
  const versionReads = (statements: string[]) => statements.filter((s) => /FROM directory_version/.test(s)).length
  await w.redeem((await w.invite()).ticket)

  // Shorter-lived than the first invitation (the policy's maximum): the key's recorded use (signing_keys.max_expires_at,
  // written when a ticket outlives every earlier one) stays as it is, as it does for all but about one creation a second.
  const created = await recorded(() => w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', lifetime: { value: 30, unit: 'minutes' } }, w.alice))
  t.equal(created.result.statusCode, 201)
  t.equal(versionReads(created.statements), 1, `creation: ${created.statements.join('\n')}`)

  const redeemed = await recorded(() => w.redeem(created.result.json().ticket))
  t.equal(redeemed.result.statusCode, 201, redeemed.result.body)
  t.equal(versionReads(redeemed.statements), 1, `redemption: ${redeemed.statements.join('\n')}`)
  t.match(redeemed.statements[0], /FROM directory_version/, 'read first (the token), before the rate limit\'s statement')
  // Which webhook subscriptions want the event is cached with the directory (none here: nothing else is written).
  const subscriberReads = (statements: string[]) => statements.filter((s) => /FROM webhook_subscription_events/.test(s)).length
  t.equal(subscriberReads(created.statements), 0, `creation: ${created.statements.join('\n')}`)
  t.equal(subscriberReads(redeemed.statements), 0, `redemption: ${redeemed.statements.join('\n')}`)
  t.equal(created.statements.length, 2, 'creation: the version; the invitation and its audit event in one statement, which commits on its own')
  // The unit's inserts whose results no one needs go as one statement (Sql.defer): data-modifying WITH clauses; a unit of
  // nothing else needs no BEGIN and no COMMIT.
  t.match(created.statements[1], /^WITH d0 AS \(INSERT INTO invitations .*\) INSERT INTO audit_events /s, created.statements.join('\n'))
  // Whether the invitation's mail still waits is answered by the redemption's own UPDATE (RETURNING), not a read.
  t.notOk(redeemed.statements.some((s) => /^SELECT 1 FROM deliveries/.test(s)), `redemption: ${redeemed.statements.join('\n')}`)
  t.equal(redeemed.statements.length, 8, 'redemption: the version, the rate limit, the invitation; BEGIN, its update, the session, ' +
    'its event, consent link and audit events in one statement, COMMIT')
  t.match(redeemed.statements[6],
    /^WITH d0 AS \(INSERT INTO session_events .*\), d1 AS \(INSERT INTO consent_chain .*\) INSERT INTO audit_events /s, redeemed.statements.join('\n'))

  const read = await recorded(() => w.call('GET', `/v1/sessions/${redeemed.result.json().id}`, undefined, w.bob))
  t.equal(read.result.statusCode, 200)
  t.equal(versionReads(read.statements), 1, `session read: ${read.statements.join('\n')}`)
  // The session row says it has no control request pending and no security events: neither is read.
  t.notOk(read.statements.some((s) => /^SELECT .* FROM (control_requests|session_security_summary) WHERE session_id/.test(s)),
    `session read: ${read.statements.join('\n')}`)
  t.equal(read.statements.length, 2, 'the version; the session with the deadline check')
})

t.test('the rate limits\' attempts of one turn are counted in one statement, each as if counted alone', async (t) => {
  const w = await world(t, { RA_DATABASE_URL: await freshPostgresDatabase(), RA_DELIVERY_POLL_MS: '600000', RA_SWEEP_INTERVAL_MS: '600000' })
  await w.app.services.purges!.idle()
  const { sent, restore } = recordStatements()
  t.teardown(restore)
  // As the redemption route counts its attempts: per token and per address, 20 of them in one turn, a budget of 5 per token.
  const perToken = new SharedLimit(w.app.services.store, 'redeem-token', 5)
  const perAddress = new SharedLimit(w.app.services.store, 'redeem-address', 100)
  const waits = await Promise.all(Array.from({ length: 20 }, (_, i) => SharedLimit.takeEach([[perToken, `token-${i % 2}`], [perAddress, '192.0.2.1']])))
  const hits = sent.filter((s) => /^INSERT INTO limit_windows/.test(s))
  t.equal(hits.length, 1, hits.join('\n'))
  // Each token's first five pass, in the order the attempts came; the address budget is not reached.
  t.same(waits.map(([token]) => token === 0), Array.from({ length: 20 }, (_, i) => i < 10))
  t.ok(waits.every(([, address]) => address === 0))
  t.same(await outsideRows(w.config, 'SELECT key, count FROM limit_windows ORDER BY key'),
    [{ key: 'redeem-address:192.0.2.1', count: 20 }, { key: 'redeem-token:token-0', count: 10 }, { key: 'redeem-token:token-1', count: 10 }])
})
