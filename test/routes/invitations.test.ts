import t from 'tap'
import { atTime, outsideSql, type Json } from '../helper.js'
import { setPolicy, world } from './invitations-helper.js'

t.test('S3: the lifetime defaults to the maximum ticket time, for each unit, and never exceeds it', async (t) => {
  const w = await world(t)
  for (const [value, unit, minutes] of [[45, 'minutes', 45], [3, 'hours', 180], [2, 'days', 2880]] as const) {
    await setPolicy(w, { solicitedRemoteAssistance: { state: 'enabled', maxTicketTime: { value, unit } } })
    const { invitation, ticket, checks } = await w.invite()
    t.equal(invitation.lifetimeMinutes, minutes, `${value} ${unit}`)
    t.equal(Date.parse(invitation.expiresAt) - Date.parse(invitation.createdAt), minutes * 60_000)
    t.match(ticket, /^[\w-]+\.[\w-]+\.[\w-]+$/)
    t.ok(checks.some((c: Json) => c.rule === 'S3' && c.passed))
    const longer = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', lifetime: { value: minutes + 1, unit: 'minutes' } }, w.alice)
    t.equal(longer.statusCode, 422)
    t.equal(longer.json().code, 'TICKET_LIFETIME_EXCEEDS_POLICY')
    t.match(longer.json().message, `${minutes} minutes`)
    const shorter = await w.invite({ lifetime: { value: 5, unit: 'minutes' } })
    t.equal(shorter.invitation.lifetimeMinutes, 5)
  }
})

t.test('S6: without policy, Windows 10 defaults to 6 hours and XP to 30 days; the response carries the mode and no-store', async (t) => {
  const w = await world(t)
  const res = await w.call('POST', '/v1/invitations', { computer: w.pc10 }, w.alice)
  t.equal(res.statusCode, 201)
  t.equal(res.headers['cache-control'], 'no-store')
  t.match(res.json().invitation, {
    state: 'open',
    mode: 'control',
    lifetimeMinutes: 360,
    computer: 'CONTOSO\\PC-10',
    novice: 'CONTOSO\\alice',
    passwordProtected: false
  })
  t.equal((await w.invite({ computer: 'CONTOSO\\PC-XP' })).invitation.lifetimeMinutes, 43200)
})

t.test('S5: Solicited RA disabled by policy refuses the invitation with checks; S1: only a user at the computer', async (t) => {
  const w = await world(t)
  await setPolicy(w, { solicitedRemoteAssistance: { state: 'disabled' } })
  const res = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, w.alice)
  t.match(res.json(), { statusCode: 403, code: 'POLICY_DENIED', checks: [{ rule: 'S1', passed: true }, { rule: 'S5', passed: false }] })
  const carol = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-XP' }, w.carol)
  t.match(carol.json(), { statusCode: 403, code: 'POLICY_DENIED', checks: [{ rule: 'S1', passed: false }] })
  const refusals = (await w.call('GET', '/v1/audit-events?action=invitation.create-refused')).json().items
  t.equal(refusals.length, 2)
  t.match(refusals[1].details, { code: 'POLICY_DENIED', rules: ['S5'] })
})

t.test('S1–S6: the invitation a creation answers (built from what was written, not read back) is the invitation as stored', async (t) => {
  const w = await world(t)
  const helpdesk = (await w.call('POST', '/v1/tokens', {
    principal: { type: 'integration', name: 'helpdesk', scopes: ['invitations:write', 'invitations:read'] }
  })).json().token
  const connection = { addresses: ['[fe80::1%3]:49228', '192.168.1.200:49230'], sessionId: 'c2Vzc2lvbg==', keyHash: 'BNRjdu97DyczQSRuMRrDWoue+HA=' }
  const kinds: Array<[string, Json, string]> = [
    ['the least', { computer: 'CONTOSO\\PC-10' }, w.alice],
    ['by the computer\'s id, with a lifetime, a password, connection data and a reference',
      { computer: w.pc10, lifetime: { value: 2, unit: 'hours' }, password: 'Password1', connection, externalRef: 'INC-42' }, w.alice],
    ['bound to a helper spelt otherwise, with a short code', { computer: 'contoso\\pc-10', helper: 'contoso\\BOB', shortCode: true }, w.alice],
    ['by an integration for a novice spelt otherwise, with a delivery',
      { computer: 'CONTOSO\\PC-10', novice: 'contoso\\ALICE', delivery: { recipients: ['bob@contoso.com'] } }, helpdesk],
    ['on XP', { computer: 'CONTOSO\\PC-XP', connection: { addresses: ['192.168.1.7:3389'], sessionId: 'abc' } }, w.alice]
  ]
  for (const [kind, body, token] of kinds) {
    const created = await w.call('POST', '/v1/invitations', body, token)
    t.equal(created.statusCode, 201, `${kind}: created (${created.body})`)
    const stored = await w.call('GET', `/v1/invitations/${created.json().invitation.id}`, undefined, token)
    t.same(created.json().invitation, stored.json(), kind)
  }
})

t.test('C1: the session a redemption answers (built from what was written, not read back) is the session as stored', async (t) => {
  const w = await world(t)
  const users = (await w.call('GET', '/v1/users?limit=50')).json().items as Json[]
  for (const [name, displayName] of [['CONTOSO\\alice', 'Alice Novice'], ['CONTOSO\\bob', 'Bob Expert']]) {
    t.equal((await w.call('PATCH', `/v1/users/${users.find((u) => u.name === name)!.id}`, { displayName })).statusCode, 200)
  }
  const first = await w.invite({ externalRef: 'INC-1', helper: 'contoso\\BOB', lifetime: { value: 1, unit: 'hours' } })
  const redeemed = await w.redeem(first.ticket)
  t.equal(redeemed.statusCode, 201, redeemed.body)
  const session = redeemed.json()
  t.same(session, (await w.call('GET', `/v1/sessions/${session.id}`, undefined, w.bob)).json(), 'a first-time helper')
  t.match(session, {
    novice: { displayName: 'Alice Novice' }, expert: { displayName: 'Bob Expert' }, boundHelper: 'CONTOSO\\bob', consent: { firstTimeHelper: true }
  })
  t.equal((await w.call('POST', `/v1/sessions/${session.id}/accept`, { confirm: true }, w.alice)).statusCode, 200)
  const again = await w.redeem((await w.invite({ password: 'Password1' })).ticket, 'Password1')
  t.equal(again.statusCode, 201, again.body)
  t.same(again.json(), (await w.call('GET', `/v1/sessions/${again.json().id}`, undefined, w.bob)).json(), 'a returning helper')
  t.equal(again.json().consent.firstTimeHelper, false)
})

t.test('creation input: integrations name the novice; users cannot act for others; Mailto is refused on Windows 10 (S4)', async (t) => {
  const w = await world(t)
  const helpdesk = (await w.call('POST', '/v1/tokens', {
    principal: { type: 'integration', name: 'helpdesk', scopes: ['invitations:write', 'invitations:read'] }
  })).json().token
  t.match((await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, helpdesk)).json(), { statusCode: 400, field: 'novice' })
  const made = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', novice: 'CONTOSO\\alice' }, helpdesk)
  t.equal(made.statusCode, 201)
  t.equal(made.json().invitation.novice, 'CONTOSO\\alice')
  t.match(
    (await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', novice: 'CONTOSO\\carol' }, w.alice)).json(),
    { statusCode: 400, field: 'novice' }
  )
  t.match(
    (await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-99' }, w.alice)).json(),
    { statusCode: 422, code: 'UNKNOWN_REFERENCE', field: 'computer' }
  )
  t.match(
    (await w.call('POST', '/v1/invitations', {
      computer: 'CONTOSO\\PC-10',
      delivery: { recipients: ['bob@contoso.com'], method: 'mailto' }
    }, w.alice)).json(),
    { statusCode: 422, code: 'METHOD_NOT_AVAILABLE', field: 'delivery.method' }
  )
  t.match((await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', password: 'short' }, w.alice)).json(), { statusCode: 400, field: 'password' })
  t.equal((await w.call('GET', '/v1/invitations', undefined, w.alice)).json().items.length, 1, 'refused requests created nothing')
})

t.test('redeem: a session awaiting the novice (C1); a second redemption is 409, audited, and recorded on the session', async (t) => {
  const w = await world(t)
  const { invitation, ticket } = await w.invite()
  const res = await w.redeem(ticket)
  t.equal(res.statusCode, 201, res.body)
  const session = res.json()
  t.match(session, {
    origin: 'invitation',
    invitationId: invitation.id,
    state: 'awaiting-novice',
    mode: 'none',
    permittedMode: 'control',
    novice: { name: 'CONTOSO\\alice' },
    expert: { name: 'CONTOSO\\bob' },
    computer: 'CONTOSO\\PC-10'
  })
  t.match(
    (await w.call('GET', `/v1/invitations/${invitation.id}`, undefined, w.alice)).json(),
    { state: 'redeemed', redeemedBy: 'CONTOSO\\bob', sessionId: session.id }
  )

  const again = await w.redeem(ticket, undefined, w.carol)
  t.match(again.json(), { statusCode: 409, code: 'TICKET_ALREADY_REDEEMED' })
  const events = (await w.call('GET', '/v1/audit-events?action=security.ticket-reused')).json().items
  t.match(events, [{ actor: 'CONTOSO\\carol', outcome: 'denied', target: `sessions/${session.id}`, details: { invitationId: invitation.id } }])
  const stored = (await w.call('GET', `/v1/sessions/${session.id}`, undefined, w.alice)).json()
  t.match(stored.securityEvents, [{ kind: 'ticket-reused', details: { expert: 'CONTOSO\\carol' } }], 'the novice is told')

  t.match(
    (await w.redeem(ticket, undefined, (await w.call('POST', '/v1/tokens', { principal: { type: 'admin' } })).json().token)).json(),
    { statusCode: 403, code: 'EXPERT_REQUIRED' }
  )
  const own = await w.invite()
  t.match((await w.redeem(own.ticket, undefined, w.alice)).json(), { statusCode: 403, code: 'OWN_INVITATION' }, 'not one\'s own')
})

t.test('O9: a policy disabled since creation refuses the redemption; a policy narrowed to view caps the session', async (t) => {
  const w = await world(t)
  const policy = await setPolicy(w, { solicitedRemoteAssistance: { state: 'enabled' } })
  const first = await w.invite()
  const second = await w.invite()
  await w.call('PATCH', `/v1/policies/${policy}`, { settings: { solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'view' } } })
  t.match((await w.redeem(first.ticket)).json(), { state: 'awaiting-novice', permittedMode: 'view' })
  await w.call('PATCH', `/v1/policies/${policy}`, { settings: { solicitedRemoteAssistance: { state: 'disabled' } } })
  const refused = await w.redeem(second.ticket)
  t.match(refused.json(), { statusCode: 403, code: 'POLICY_DENIED', checks: [{ rule: 'S1', passed: true }, { rule: 'S5', passed: false }] })
  t.equal((await w.call('GET', `/v1/invitations/${second.invitation.id}`, undefined, w.alice)).json().state, 'open', 'a refusal changes nothing')
})

t.test('revoke: by its novice; others cannot see it; a revoked ticket is refused with its own code', async (t) => {
  const w = await world(t)
  const { invitation, ticket } = await w.invite()
  t.match((await w.call('GET', `/v1/invitations/${invitation.id}`, undefined, w.carol)).json(), { statusCode: 404 }, 'no one learns it exists')
  t.equal((await w.call('DELETE', `/v1/invitations/${invitation.id}`, undefined, w.carol)).statusCode, 404)
  const revoked = await w.call('DELETE', `/v1/invitations/${invitation.id}`, undefined, w.alice)
  t.match(revoked.json(), { state: 'revoked' })
  t.match((await w.redeem(ticket)).json(), { statusCode: 410, code: 'TICKET_REVOKED' })
  t.equal((await w.call('DELETE', `/v1/invitations/${invitation.id}`, undefined, w.alice)).statusCode, 200, 'revoking twice is harmless')
  const used = await w.invite()
  const session = (await w.redeem(used.ticket)).json()
  await w.call('POST', `/v1/sessions/${session.id}/end`, undefined, w.bob)
  t.match(
    (await w.call('DELETE', `/v1/invitations/${used.invitation.id}`)).json(),
    { statusCode: 409, code: 'INVITATION_NOT_OPEN' },
    'redeemed, and its session is over'
  )
  const list = (await w.call('GET', '/v1/invitations?state=revoked')).json().items
  t.same(list.map((i: Json) => i.id), [invitation.id])
})

t.test('password: required, checked, and five wrong ones lock the invitation; the sixth try with the right one is refused', async (t) => {
  const w = await world(t)
  const { invitation, ticket } = await w.invite({ password: 'Password1' })
  t.equal(invitation.passwordProtected, true)
  t.match((await w.redeem(ticket)).json(), { statusCode: 422, code: 'PASSWORD_REQUIRED' })
  for (let i = 1; i <= 4; i++) t.match((await w.redeem(ticket, `wrong-${i}`)).json(), { code: 'PASSWORD_INCORRECT' }, `wrong ${i}`)
  t.match((await w.redeem(ticket, 'wrong-5')).json(), { statusCode: 423, code: 'INVITATION_LOCKED' }, 'the fifth locks')
  t.match((await w.redeem(ticket, 'Password1')).json(), { statusCode: 423, code: 'INVITATION_LOCKED' }, 'the right one is refused now')
  t.match((await w.call('GET', `/v1/invitations/${invitation.id}`, undefined, w.alice)).json(), { state: 'locked', failedPasswordAttempts: 5 })
  t.equal((await w.call('GET', '/v1/audit-events?action=invitation.lock')).json().items.length, 1)
  t.match((await w.call('DELETE', `/v1/invitations/${invitation.id}`, undefined, w.alice)).json(), { state: 'revoked' }, 'a locked invitation can be revoked')

  const other = await w.invite({ password: 'Password1' })
  t.equal((await w.redeem(other.ticket, 'Password1')).statusCode, 201, 'the right password redeems')
  const audit = (await w.call('GET', '/v1/audit-events?limit=500')).body
  t.notMatch(audit, 'Password1')
  t.notMatch(audit, ticket)
  t.notOk(w.logs.some((l) => l.includes('Password1') || l.includes(ticket)), 'neither in the logs')
})

t.test('expiry by the server\'s clock: accepted just before exp, refused at exp (controlled clock, no sleeping)', async (t) => {
  const w = await world(t)
  const before = await w.invite({ lifetime: { value: 10, unit: 'minutes' } })
  const at = await w.invite({ lifetime: { value: 10, unit: 'minutes' } })
  // The two may have been created in different seconds: each is checked against its own exp.
  const [beforeExp, atExp] = [before, at].map((i) => Date.parse(i.invitation.expiresAt))
  await atTime(beforeExp! - 1000, async (clock) => {
    t.equal((await w.redeem(before.ticket)).statusCode, 201, 'one second before exp')
    clock.travel(atExp!)
    t.match((await w.redeem(at.ticket)).json(), { statusCode: 410, code: 'TICKET_EXPIRED' }, 'at exp')
    t.equal((await w.call('GET', `/v1/invitations/${at.invitation.id}`, undefined, w.alice)).json().state, 'expired', 'marked lazily')
  })
})

t.test('key rotation: old tickets still redeem until they expire; the JWKS shows both keys, then drops the old one', async (t) => {
  const w = await world(t)
  const old = await w.invite({ lifetime: { value: 10, unit: 'minutes' } })
  const oldKid = JSON.parse(Buffer.from(old.ticket.split('.')[0], 'base64url').toString()).kid
  t.same((await w.call('GET', '/.well-known/jwks.json', undefined, null)).json().keys.map((k: Json) => k.kid), [oldKid])
  const rotated = await w.call('POST', '/v1/keys/rotate')
  t.equal(rotated.statusCode, 200)
  t.same(rotated.json().retired, [oldKid])
  const jwks = (await w.call('GET', '/.well-known/jwks.json', undefined, null)).json().keys
  t.same(jwks.map((k: Json) => k.kid).sort(), [oldKid, rotated.json().kid].sort())
  t.ok(jwks.every((k: Json) => k.kty === 'OKP' && k.crv === 'Ed25519' && k.alg === 'EdDSA' && k.d === undefined), 'public parts only')
  const fresh = await w.invite()
  t.equal(JSON.parse(Buffer.from(fresh.ticket.split('.')[0], 'base64url').toString()).kid, rotated.json().kid, 'new tickets use the new key')
  const spare = await w.invite({ lifetime: { value: 5, unit: 'minutes' } })
  t.equal((await w.redeem(old.ticket)).statusCode, 201, 'a ticket of the old key still redeems')
  // Once every ticket the old key signed has expired, it leaves the JWKS and verifies nothing.
  await atTime(Date.parse(old.invitation.expiresAt) + 1000, async () => {
    t.same((await w.call('GET', '/.well-known/jwks.json', undefined, null)).json().keys.map((k: Json) => k.kid), [rotated.json().kid])
    t.equal((await w.redeem(spare.ticket)).json().code, 'TICKET_EXPIRED')
  })
  t.equal((await w.call('POST', '/v1/keys/rotate', undefined, w.alice)).statusCode, 403, 'administrators only')
})

t.test('a retired key verifies its tickets until the last expires, even when the cached key is older than the stored one', async (t) => {
  const w = await world(t)
  const early = await w.invite({ lifetime: { value: 5, unit: 'minutes' } })
  const late = await w.invite({ lifetime: { value: 60, unit: 'minutes' } })
  const kid = JSON.parse(Buffer.from(late.ticket.split('.')[0], 'base64url').toString()).kid
  t.equal((await w.call('POST', '/v1/keys/rotate')).statusCode, 200)
  // The key's row as a process may hold it cached: recorded before the signature of \`late\` moved its
  // max_expires_at on (that column bumps no cache version: it moves with signatures).
  await outsideSql(w.config, 'UPDATE signing_keys SET max_expires_at = ? WHERE kid = ?', early.invitation.expiresAt, kid)
  t.equal((await w.call('POST', '/v1/redemptions/preview', { ticket: early.ticket }, w.bob)).statusCode, 200, 'the key is read (and cached)')
  await outsideSql(w.config, 'UPDATE signing_keys SET max_expires_at = ? WHERE kid = ?', late.invitation.expiresAt, kid)
  await atTime(Date.parse(early.invitation.expiresAt) + 1000, async () => {
    t.equal((await w.redeem(late.ticket)).statusCode, 201, 'the later ticket still redeems')
  })
})

t.test('S1: the computer is named by id or DOMAIN\\NAME, checked at the edge: an empty domain part is 400 naming the field, not a 500', async (t) => {
  const w = await world(t)
  for (const bad of ['\\PC-XP', 'CONTOSO\\', '\\', 'CONTOSO\\PC\\XP', 'CONTOSO\\PC-0123456789ABCDEF', 'not-an-id']) {
    const res = await w.call('POST', '/v1/invitations', { computer: bad }, w.alice)
    t.match(res.json(), { statusCode: 400, code: 'VALIDATION_FAILED', field: 'computer' }, JSON.stringify(bad))
  }
  t.same((await w.call('GET', '/v1/invitations', undefined, w.alice)).json().items, [], 'nothing was created')
  t.equal((await w.call('POST', '/v1/invitations', { computer: w.pc10 }, w.alice)).statusCode, 201, 'by id')
  t.equal((await w.call('POST', '/v1/invitations', { computer: 'contoso\\pc-10' }, w.alice)).statusCode, 201, 'by name, any case')
})

t.test('a replayed ticket (C1: the novice is told) is audited with its request id; ' +
  'repeats collapse into one entry with a count, and the full history pages', async (t) => {
  const w = await world(t)
  const { ticket } = await w.invite()
  const session = (await w.redeem(ticket)).json()
  const requestIds: string[] = []
  for (let i = 0; i < 120; i++) {
    const again = await w.redeem(ticket, undefined, i % 3 === 0 ? w.carol : w.bob)
    t.equal(again.statusCode, 409)
    requestIds.push(String(again.headers['x-request-id']))
  }
  const audited = (await w.call('GET', '/v1/audit-events?action=security.ticket-reused&limit=500')).json().items
  t.equal(audited.length, 120)
  t.same(audited.map((e: Json) => e.requestId).reverse(), requestIds, 'each with the request id of the replay')

  const view = await w.call('GET', `/v1/sessions/${session.id}`, undefined, w.alice)
  const events = view.json().securityEvents
  t.equal(events.length, 2, 'one entry per expert, however many replays')
  const byExpert = Object.fromEntries(events.map((e: Json) => [e.details.expert, e]))
  t.match(byExpert['CONTOSO\\carol'], { kind: 'ticket-reused', count: 40 })
  t.match(byExpert['CONTOSO\\bob'], { kind: 'ticket-reused', count: 80 })
  t.ok(byExpert['CONTOSO\\bob'].occurredAt <= byExpert['CONTOSO\\bob'].lastOccurredAt, 'first and last time')
  t.ok(view.body.length < 2000, `the session view stays small (${view.body.length} bytes)`)

  const history: Json[] = []
  let cursor: string | null = null
  do {
    const page: Json = (await w.call('GET', `/v1/sessions/${session.id}/history?limit=50${cursor ? `&cursor=${cursor}` : ''}`, undefined, w.alice)).json()
    history.push(...page.items)
    cursor = page.nextCursor
  } while (cursor !== null)
  t.equal(history.filter((e) => e.type === 'security.ticket-reused').length, 120, 'every replay is in the history')
  t.equal(history[0].type, 'session.created', 'oldest first')
  t.ok(history.every((e, i) => i === 0 || e.id > history[i - 1].id), 'in id order')
  t.equal((await w.call('GET', `/v1/sessions/${session.id}/history`, undefined, w.carol)).statusCode, 404, 'not for strangers')
  t.match((await w.call('GET', `/v1/sessions/${session.id}/history?cursor=x`, undefined, w.alice)).json(), { statusCode: 400, field: 'cursor' })
})
