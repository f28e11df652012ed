import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { hashToken } from '../../src/services/tokens-service.js'
import { ADMIN_TOKEN, atTime, build, outsideRows } from '../helper.js'

t.test('an administrator creates a token, sees it once, and it works', async (t) => {
  const { call } = await build(t)
  const created = await call('POST', '/v1/tokens', { principal: { type: 'integration', name: 'servicenow', scopes: ['audit:read'] }, label: 'ticketing' })
  t.equal(created.statusCode, 201)
  t.equal(created.headers['cache-control'], 'no-store')
  const { token, tokenInfo } = created.json()
  t.match(token, /^ra_[A-Za-z0-9_-]{43}$/, '256 bits, base64url')
  t.match(tokenInfo, { principal: { type: 'integration', name: 'servicenow', scopes: ['audit:read'] }, label: 'ticketing', source: 'api', revokedAt: null })
  t.equal((await call('GET', '/v1/audit-events', undefined, token)).statusCode, 200, 'the scope it has')
  const denied = await call('GET', '/v1/users', undefined, token)
  t.equal(denied.statusCode, 403)
  t.equal(denied.json().code, 'INSUFFICIENT_SCOPE')
  t.equal((await call('GET', '/v1/tokens', undefined, token)).statusCode, 403, 'integrations never manage tokens')

  const list = (await call('GET', '/v1/tokens')).json()
  t.equal(list.items.length, 2, 'bootstrap + new')
  t.notMatch(JSON.stringify(list), token, 'the secret is never listed')
  t.notMatch(JSON.stringify(list), hashToken(token), 'nor its hash')
})

t.test('tokens are stored only as SHA-256 hashes', async (t) => {
  const { call, config } = await build(t)
  const { token } = (await call('POST', '/v1/tokens', { principal: { type: 'admin' } })).json()
  // On SQLite every byte of the file and its log; on PostgreSQL every row of every table.
  const bytes = config.databaseUrl === undefined
    ? readFileSync(config.databaseFile).toString('latin1') + readFileSync(config.databaseFile + '-wal').toString('latin1')
    : JSON.stringify(await Promise.all((await outsideRows<{ name: string }>(config, "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"))
      .map((r) => outsideRows(config, `SELECT * FROM ${r.name}`))))
  t.notMatch(bytes, token)
  t.notMatch(bytes, ADMIN_TOKEN)
  t.match(bytes, hashToken(token))
})

t.test('revoked tokens stop working at once; revoking twice is harmless', async (t) => {
  const { call } = await build(t)
  const { token, tokenInfo } = (await call('POST', '/v1/tokens', { principal: { type: 'admin' } })).json()
  t.equal((await call('GET', '/v1/users', undefined, token)).statusCode, 200)
  const revoked = await call('DELETE', `/v1/tokens/${tokenInfo.id}`)
  t.equal(revoked.statusCode, 200)
  t.type(revoked.json().revokedAt, 'string')
  const res = await call('GET', '/v1/users', undefined, token)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'TOKEN_REVOKED')
  t.equal((await call('DELETE', `/v1/tokens/${tokenInfo.id}`)).json().revokedAt, revoked.json().revokedAt)
  t.equal((await call('GET', '/v1/tokens')).json().items.length, 1, 'revoked tokens hidden by default')
  t.equal((await call('GET', '/v1/tokens?includeRevoked=true')).json().items.length, 2)
  t.equal((await call('DELETE', '/v1/tokens/00000000-0000-4000-8000-000000000000')).statusCode, 404)
})

t.test('a revocation is seen by the next authentication even in the same turn of the event loop, after a lookup that turn', async (t) => {
  const { app, call } = await build(t)
  const { token, tokenInfo } = (await call('POST', '/v1/tokens', { principal: { type: 'admin' } })).json()
  const { tokens } = app.services
  const header = `Bearer ${token}`
  t.equal((await tokens.authenticate(header)).ok, true, 'cached once')
  // In one turn: a lookup (which reads the directory's version once for the turn), then the revocation's commit
  // (SQLite commits the units of a turn in a callback queued after that lookup's), then a lookup right after it.
  const [before, after] = await new Promise<[boolean, string]>((resolve, reject) => {
    let first: Promise<{ ok: boolean }>
    setImmediate(() => { first = tokens.authenticate(header) })
    // The revocation as one statement (the service's revoke also ends sessions, in units of work of its own, later).
    app.services.store.storage.run('UPDATE api_tokens SET revoked_at = ? WHERE id = ?', new Date().toISOString(), tokenInfo.id)
      .then(async () => {
        const second = await tokens.authenticate(header)
        resolve([(await first).ok, second.ok ? 'accepted' : second.error.code])
      })
      .catch(reject)
  })
  // The first lookup's reads run beside the revocation's commit (on PostgreSQL another connection, on SQLite the reading
  // thread) and may see it committed: either answer is right for it. The lookup after the commit must see it.
  t.type(before, 'boolean', 'the lookup before the revocation was answered')
  t.equal(after, 'TOKEN_REVOKED', 'the lookup after it')
})

t.test('user tokens: the user must exist, be a user and be enabled; disabling the user stops the token', async (t) => {
  const { call } = await build(t)
  await call('POST', '/v1/domains', { name: 'CONTOSO' })
  const alice = (await call('POST', '/v1/users', { name: 'CONTOSO\\alice' })).json()
  await call('POST', '/v1/groups', { name: 'CONTOSO\\Helpdesk' })

  const unknown = await call('POST', '/v1/tokens', { principal: { type: 'user', user: 'CONTOSO\\nobody' } })
  t.match(unknown.json(), { statusCode: 422, code: 'UNKNOWN_REFERENCE', field: 'principal.user' })
  const group = await call('POST', '/v1/tokens', { principal: { type: 'user', user: 'CONTOSO\\Helpdesk' } })
  t.match(group.json(), { statusCode: 422, code: 'INVALID_REFERENCE', field: 'principal.user' })
  const extra = await call('POST', '/v1/tokens', { principal: { type: 'admin', scopes: ['audit:read'] } })
  t.match(extra.json(), { statusCode: 400, field: 'principal.scopes' })
  const missing = await call('POST', '/v1/tokens', { principal: { type: 'integration', name: 'x' } })
  t.match(missing.json(), { statusCode: 400, field: 'principal.scopes' })
  const badScope = await call('POST', '/v1/tokens', { principal: { type: 'integration', name: 'x', scopes: ['everything'] } })
  t.equal(badScope.statusCode, 400)
  t.equal((await call('GET', '/v1/tokens')).json().items.length, 1, 'no refused token was stored')

  const created = await call('POST', '/v1/tokens', { principal: { type: 'user', user: 'contoso\\ALICE' } })
  t.equal(created.statusCode, 201)
  const { token, tokenInfo } = created.json()
  t.equal(tokenInfo.principal.user, 'CONTOSO\\alice', 'resolved case-insensitively')
  const asUser = await call('GET', '/v1/users', undefined, token)
  t.match(asUser.json(), { statusCode: 403, code: 'ADMIN_REQUIRED' })

  await call('PATCH', `/v1/users/${alice.id}`, { enabled: false })
  const disabled = await call('GET', '/v1/users', undefined, token)
  t.match(disabled.json(), { statusCode: 401, code: 'ACCOUNT_DISABLED' })
})

t.test('expiry: a past expiresAt is refused; an expired token gets 401 TOKEN_EXPIRED', async (t) => {
  const { call } = await build(t)
  const past = await call('POST', '/v1/tokens', { principal: { type: 'admin' }, expiresAt: '2001-01-01T00:00:00Z' })
  t.match(past.json(), { statusCode: 422, code: 'INVALID_VALUE', field: 'expiresAt' })
  const soon = new Date(Date.now() + 60_000).toISOString()
  const { token, tokenInfo } = (await call('POST', '/v1/tokens', { principal: { type: 'admin' }, expiresAt: soon })).json()
  t.equal(tokenInfo.expiresAt, soon)
  t.equal((await call('GET', '/v1/users', undefined, token)).statusCode, 200)
  // A fake clock a minute ahead, instead of waiting.
  const res = await atTime(Date.now() + 61_000, () => call('GET', '/v1/users', undefined, token))
  t.match(res.json(), { statusCode: 401, code: 'TOKEN_EXPIRED' })
})

t.test('malformed and unknown tokens get 401 and are audited without the token', async (t) => {
  const secretish = 'ra_thisIsNotARealTokenButLooksLikeOne0123456789'
  const { app } = await build(t)
  for (const header of ['Basic YWxpY2U6cGFzcw==', 'Bearer', `Bearer ${secretish}`, `Bearer ${'x'.repeat(2000)}`]) {
    const res = await app.inject({ method: 'GET', url: '/v1/users', headers: { authorization: header } })
    t.equal(res.statusCode, 401, header.slice(0, 20))
    t.equal(res.json().code, 'TOKEN_INVALID')
  }
  const audit = await app.inject({ method: 'GET', url: '/v1/audit-events?action=auth.failure', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  const events = audit.json().items
  t.equal(events.length, 4)
  t.match(events[0], { actor: 'anonymous', outcome: 'failure', target: 'GET /v1/users', details: { code: 'TOKEN_INVALID' } })
  t.notMatch(audit.body, secretish)
  t.notMatch(audit.body, 'YWxpY2U6cGFzcw')
})

t.test('the generated administrator token: written once to a 0600 file beside the database, never logged', async (t) => {
  const dir = t.testdir()
  const first = await build(t, { RA_BOOTSTRAP_ADMIN_TOKEN: '' }, dir)
  const file = path.join(dir, 'admin-token')
  const token = readFileSync(file, 'utf8').trim()
  t.match(token, /^ra_/)
  t.equal(statSync(file).mode & 0o777, 0o600)
  t.ok(first.logs.some((l) => l.includes(file)), 'the log names the file')
  t.notOk(first.logs.some((l) => l.includes(token)), 'the log never holds the token')
  t.equal((await first.call('GET', '/v1/users', undefined, token)).statusCode, 200)
  await first.app.close()

  const second = await build(t, { RA_BOOTSTRAP_ADMIN_TOKEN: '' }, dir)
  t.equal(readFileSync(file, 'utf8').trim(), token, 'not regenerated while an administrator token works')
  t.equal((await second.call('GET', '/v1/users', undefined, token)).statusCode, 200)
})

t.test('RA_BOOTSTRAP_ADMIN_TOKEN is registered once across restarts', async (t) => {
  const dir = t.testdir()
  const first = await build(t, {}, dir)
  await first.app.close()
  const second = await build(t, {}, dir)
  const tokens = (await second.call('GET', '/v1/tokens')).json().items
  t.equal(tokens.length, 1)
  t.match(tokens[0], { principal: { type: 'admin' }, source: 'bootstrap' })
})
