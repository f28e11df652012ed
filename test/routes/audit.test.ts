import t from 'tap'
import { ADMIN_TOKEN, build } from '../helper.js'

t.test('audit events: filters by actor, action, target, outcome and time, newest first, paged', async (t) => {
  const { call } = await build(t)
  const domain = (await call('POST', '/v1/domains', { name: 'CONTOSO' })).json()
  await call('PATCH', `/v1/domains/${domain.id}`, { dnsName: 'contoso.com' })
  await call('POST', '/v1/users', { name: 'CONTOSO\\alice' })
  const { token } = (await call('POST', '/v1/tokens', { principal: { type: 'integration', name: 'siem', scopes: ['audit:read'] } })).json()
  await call('GET', '/v1/users', undefined, token) // denied: wrong scope
  await call('GET', '/v1/users', undefined, null) // failed authentication

  const all = (await call('GET', '/v1/audit-events?limit=500', undefined, token)).json().items
  const ids = all.map((e: { id: number }) => e.id)
  t.same(ids, [...ids].sort((a: number, b: number) => b - a), 'newest first')

  const byTarget = (await call('GET', `/v1/audit-events?target=domains/${domain.id}`)).json().items
  t.same(byTarget.map((e: { action: string }) => e.action), ['domain.update', 'domain.create'])
  t.match(byTarget[0], { actor: 'admin', outcome: 'success', details: { name: 'CONTOSO', fields: ['dnsName'] } })
  t.type(byTarget[0].requestId, 'string')
  t.type(byTarget[0].actorTokenId, 'string')

  const denied = (await call('GET', '/v1/audit-events?outcome=denied')).json().items
  t.equal(denied.length, 1)
  t.match(denied[0], {
    actor: 'integration:siem',
    action: 'auth.denied',
    target: 'GET /v1/users',
    details: { code: 'INSUFFICIENT_SCOPE', scope: 'directory:read' }
  })
  t.equal((await call('GET', '/v1/audit-events?action=auth.failure')).json().items.length, 1)
  t.equal((await call('GET', '/v1/audit-events?actor=integration:siem')).json().items.length, 1)

  const future = new Date(Date.now() + 3_600_000).toISOString()
  t.equal((await call('GET', `/v1/audit-events?from=${encodeURIComponent(future)}`)).json().items.length, 0)
  const created = new Date(byTarget[1].occurredAt)
  const to = (await call('GET', `/v1/audit-events?to=${encodeURIComponent(created.toISOString())}`)).json().items
  t.ok(to.every((e: { occurredAt: string }) => e.occurredAt < created.toISOString()), 'to is exclusive')

  const seen: number[] = []
  let cursor: string | null = null
  do {
    const page: { items: Array<{ id: number }>, nextCursor: string | null } =
      (await call('GET', `/v1/audit-events?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json()
    t.ok(page.items.length <= 2)
    seen.push(...page.items.map((e) => e.id))
    cursor = page.nextCursor
  } while (cursor)
  t.same(seen.slice(0, ids.length), ids, 'paging walks the same events in the same order')

  const text = JSON.stringify(all)
  t.notMatch(text, token)
  t.notMatch(text, ADMIN_TOKEN)
})

t.test('audit queries are validated; users cannot read the audit trail', async (t) => {
  const { call } = await build(t)
  t.match((await call('GET', '/v1/audit-events?from=yesterday')).json(), { statusCode: 400, code: 'VALIDATION_FAILED' })
  t.match((await call('GET', '/v1/audit-events?limit=0')).json(), { statusCode: 400, field: 'limit' })
  t.match((await call('GET', '/v1/audit-events?outcome=maybe')).json(), { statusCode: 400 })
  t.match((await call('GET', '/v1/audit-events?sort=asc')).json(), { statusCode: 400, code: 'UNKNOWN_FIELD' })
  await call('POST', '/v1/domains', { name: 'CONTOSO' })
  await call('POST', '/v1/users', { name: 'CONTOSO\\alice' })
  const { token } = (await call('POST', '/v1/tokens', { principal: { type: 'user', user: 'CONTOSO\\alice' } })).json()
  t.match((await call('GET', '/v1/audit-events', undefined, token)).json(), { statusCode: 403, code: 'ADMIN_REQUIRED' })
})
