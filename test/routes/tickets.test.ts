import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createLocalJWKSet, generateKeyPair, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose'
import t from 'tap'
import { TEST_ENGINE } from '../engine.js'
import { atTime, build, outsideRows, outsideSql, type Json } from '../helper.js'
import { eventually } from '../smtp-helper.js'
import { runWorker } from '../workers.js'
import { world, type InvitationWorld } from './invitations-helper.js'

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
const parts = (ticket: string) => ticket.split('.') as [string, string, string]
const payload = (ticket: string) => JSON.parse(Buffer.from(parts(ticket)[1], 'base64url').toString()) as Json

/** The service's own active private key, read from its database (stored in clear without RA_KEY_ENCRYPTION_SECRET). */
async function serviceKey (w: InvitationWorld): Promise<{ key: CryptoKey, kid: string }> {
  const [row] = await outsideRows<{ kid: string, private_key: string }>(w.config, 'SELECT kid, private_key FROM signing_keys WHERE retired_at IS NULL')
  if (!row) throw new Error('no active signing key')
  return importJWK(JSON.parse(row.private_key) as JWK, 'EdDSA').then((key) => ({ key: key as CryptoKey, kid: row.kid }))
}

t.test('forged and altered tickets are refused, each with its code, and change nothing', async (t) => {
  const w = await world(t)
  const { invitation, ticket } = await w.invite()
  const [h, p, s] = parts(ticket)
  const claims = payload(ticket)
  const { key, kid } = await serviceKey(w)
  const other = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
  const jwks = (await w.call('GET', '/.well-known/jwks.json', undefined, null)).json()
  const publicJwk = JSON.stringify(jwks.keys[0])
  const resign = (c: Json, hdr: Json = { alg: 'EdDSA', typ: 'ra-invitation+jwt', kid }, k: CryptoKey = key) =>
    new SignJWT(c).setProtectedHeader(hdr as never).sign(k)
  const { exp: _exp, ...withoutExp } = claims
  const { jti: _jti, ...withoutJti } = claims

  const cases: Array<[string, string, string]> = [
    ['alg none', `${b64({ alg: 'none', typ: 'ra-invitation+jwt', kid })}.${p}.`, 'TICKET_MALFORMED'],
    ['alg none with a signature part', `${b64({ alg: 'none', typ: 'ra-invitation+jwt', kid })}.${p}.${s}`, 'TICKET_SIGNATURE_INVALID'],
    [
      'HS256 signed with the public key',
      await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'ra-invitation+jwt', kid }).sign(new TextEncoder().encode(publicJwk)),
      'TICKET_SIGNATURE_INVALID'
    ],
    ['signed by another key, claiming our kid', await resign(claims, undefined, other.privateKey), 'TICKET_SIGNATURE_INVALID'],
    ['an unknown kid', await resign(claims, { alg: 'EdDSA', typ: 'ra-invitation+jwt', kid: 'not-ours' }, other.privateKey), 'TICKET_SIGNATURE_INVALID'],
    ['wrong typ', await resign(claims, { alg: 'EdDSA', typ: 'JWT', kid }), 'TICKET_CLAIMS_INVALID'],
    ['no typ', await resign(claims, { alg: 'EdDSA', kid }), 'TICKET_CLAIMS_INVALID'],
    ['wrong aud', await resign({ ...claims, aud: 'https://elsewhere.example/v1/redemptions' }), 'TICKET_WRONG_AUDIENCE'],
    ['wrong iss', await resign({ ...claims, iss: 'https://evil.example' }), 'TICKET_CLAIMS_INVALID'],
    ['missing exp', await resign(withoutExp), 'TICKET_CLAIMS_INVALID'],
    ['missing jti', await resign(withoutJti), 'TICKET_CLAIMS_INVALID'],
    ['expired exp', await resign({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }), 'TICKET_EXPIRED'],
    ['nbf in the future', await resign({ ...claims, nbf: Math.floor(Date.now() / 1000) + 600 }), 'TICKET_NOT_YET_VALID'],
    ['JSON serialization instead of compact', JSON.stringify({ protected: h, payload: p, signature: s }), 'TICKET_MALFORMED'],
    ['four parts', `${ticket}.${s}`, 'TICKET_MALFORMED'],
    ['not base64url', `${h}.${p}.${s}!`, 'TICKET_MALFORMED']
  ]
  // A flipped byte in each part.
  for (const [i, name] of ['header', 'payload', 'signature'].entries()) {
    const bytes = Buffer.from(parts(ticket)[i]!, 'base64url')
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01
    const altered = [...parts(ticket)]
    altered[i] = bytes.toString('base64url')
    cases.push([`a flipped byte in the ${name}`, altered.join('.'), i === 0 ? '' : 'TICKET_SIGNATURE_INVALID'])
  }
  for (const [name, forged, code] of cases) {
    const res = await w.redeem(forged)
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `${name}: refused (${res.statusCode})`)
    if (code) t.equal(res.json().code, code, name)
    else t.match(res.json().code, /^TICKET_(MALFORMED|SIGNATURE_INVALID|CLAIMS_INVALID)$/, name)
    t.notMatch(res.body, forged.slice(-20), `${name}: the ticket is not echoed`)
  }
  t.equal((await w.call('GET', `/v1/invitations/${invitation.id}`, undefined, w.alice)).json().state, 'open', 'the real invitation is untouched')
  t.equal((await w.redeem(ticket)).statusCode, 201, 'and the genuine ticket still redeems')
  const refused = (await w.call('GET', '/v1/audit-events?action=invitation.redeem-refused&limit=100')).json().items
  t.equal(refused.length, cases.length, 'every refusal is audited with its code')
  t.ok(refused.every((e: Json) => typeof e.details.code === 'string'))
})

t.test('200 concurrent redemptions of one ticket give exactly one session, round after round', async (t) => {
  const w = await world(t)
  for (let round = 0; round < 5; round++) {
    const { invitation, ticket } = await w.invite()
    const results = await Promise.all(Array.from({ length: 200 }, () => w.redeem(ticket)))
    const codes = results.map((r) => r.statusCode)
    t.equal(codes.filter((c) => c === 201).length, 1, `round ${round}: one winner`)
    t.ok(results.every((r) => r.statusCode === 201 || r.json().code === 'TICKET_ALREADY_REDEEMED'), 'every loser is told it was already redeemed')
    t.same(await outsideRows(w.config, 'SELECT count(*) AS n FROM sessions WHERE invitation_id = ?', invitation.id), [{ n: 1 }])
  }
})

t.test('the signing key is encrypted at rest with RA_KEY_ENCRYPTION_SECRET; a missing or wrong secret stops the start', async (t) => {
  const dir = t.testdir()
  const secret = 'an-encryption-secret-of-at-least-32-chars'
  const first = await build(t, { RA_KEY_ENCRYPTION_SECRET: secret }, dir)
  const jwk = (await first.call('GET', '/.well-known/jwks.json', undefined, null)).json().keys[0]
  await first.app.close()
  const [row] = await outsideRows<{ private_key: string, encrypted: number }>(first.config, 'SELECT private_key, encrypted FROM signing_keys')
  t.equal(row!.encrypted, 1)
  t.notMatch(row!.private_key, /"d"\s*:/, 'no private JWK member in clear')
  if (first.config.databaseUrl === undefined) t.notMatch(readFileSync(first.config.databaseFile).toString('latin1'), secret)

  await t.rejects(build(t, {}, dir), /encrypted: set RA_KEY_ENCRYPTION_SECRET/)
  await t.rejects(build(t, { RA_KEY_ENCRYPTION_SECRET: 'another-secret-also-at-least-32-chars-long' }, dir), /does not decrypt/)
  const again = await build(t, { RA_KEY_ENCRYPTION_SECRET: secret }, dir)
  t.same((await again.call('GET', '/.well-known/jwks.json', undefined, null)).json().keys[0], jwk, 'the same key, decrypted')
})

t.test('keys stored in clear are encrypted once a secret is configured', async (t) => {
  const dir = t.testdir()
  const plain = await build(t, {}, dir)
  t.ok(plain.logs.some((l) => l.includes('RA_KEY_ENCRYPTION_SECRET is not set')), 'a warning without the secret')
  await plain.app.close()
  const secured = await build(t, { RA_KEY_ENCRYPTION_SECRET: 'an-encryption-secret-of-at-least-32-chars' }, dir)
  t.ok(secured.logs.some((l) => l.includes('encrypted stored signing keys')))
  t.same(await outsideRows(secured.config, 'SELECT encrypted FROM signing_keys'), [{ encrypted: 1 }])
})

t.test('ended invitations are purged after the retention; their audit events stay; redeemed ones stay', async (t) => {
  const dir = t.testdir()
  const w = await world(t, { RA_INVITATION_RETENTION_DAYS: '1' }, dir)
  const lapsed = await w.invite({ lifetime: { value: 1, unit: 'minutes' } })
  const used = await w.invite({ lifetime: { value: 1, unit: 'minutes' } })
  await w.redeem(used.ticket)
  await w.app.close()
  // Two days later the service starts again and purges.
  await atTime(Date.now() + 2 * 86_400_000, async () => {
    const later = await build(t, { RA_INVITATION_RETENTION_DAYS: '1' }, dir)
    // The purge runs in the background once the service is up.
    await eventually(async () => (await later.call('GET', `/v1/invitations/${lapsed.invitation.id}`)).statusCode === 404, 'the purge',
      { emitter: later.app.services.purges!, event: 'run' })
    t.equal((await later.call('GET', `/v1/invitations/${used.invitation.id}`)).json().state, 'redeemed', 'kept: it has a session')
    t.equal((await later.call('GET', `/v1/audit-events?target=invitations/${lapsed.invitation.id}`)).json().items.length, 1, 'its audit event stays')
    await later.app.close()
  })
})

t.test('the retention purge goes a batch at a time until nothing is left past retention', async (t) => {
  const w = await world(t, { RA_INVITATION_RETENTION_DAYS: '1' })
  const kept = await w.invite()
  await w.app.services.purges!.idle()
  // 2,500 invitations that ended long ago: more than two batches.
  await outsideSql(w.config, `INSERT INTO invitations (id, computer_id, novice_id, created_by, state, mode, lifetime_minutes, created_at, expires_at, kid, jti,
      ended_at)
    WITH RECURSIVE n (x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2500)
    SELECT 'purged-' || x, computer_id, novice_id, created_by, 'expired', mode, 60, '2020-01-01T00:00:00.000Z', '2020-01-01T01:00:00.000Z', kid,
      'purged-jti-' || x, '2020-01-01T01:00:00.000Z'
    FROM n, invitations WHERE invitations.id = ?`, kept.invitation.id)
  const count = async (): Promise<number> => Number((await outsideRows<{ n: number }>(w.config, 'SELECT count(*) AS n FROM invitations'))[0]!.n)
  t.equal(await count(), 2501)
  w.app.services.purges!.kick()
  await w.app.services.purges!.idle()
  t.equal(await count(), 1, 'all 2,500 purged; the open one stays')
})

t.test('a retention purge that fails does not keep the service from starting: it is logged, and the next run purges', async (t) => {
  const dir = t.testdir()
  const w = await world(t, { RA_INVITATION_RETENTION_DAYS: '1' }, dir)
  const lapsed = await w.invite({ lifetime: { value: 1, unit: 'minutes' } })
  await w.app.close()
  // Deleting invitations fails, as a full disk or a lock held too long would make it.
  const refuse = TEST_ENGINE === 'sqlite'
    ? ['CREATE TRIGGER refuse_purge BEFORE DELETE ON invitations BEGIN SELECT RAISE(ABORT, \'refused by the test\'); END']
    : ['CREATE FUNCTION refuse_purge () RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION \'refused by the test\'; END $$',
        'CREATE TRIGGER refuse_purge BEFORE DELETE ON invitations FOR EACH ROW EXECUTE FUNCTION refuse_purge()']
  for (const sql of refuse) await outsideSql(w.config, sql)
  await atTime(Date.now() + 2 * 86_400_000, async () => {
    const later = await build(t, { RA_INVITATION_RETENTION_DAYS: '1' }, dir)
    t.equal((await later.call('GET', '/readyz', undefined, null)).statusCode, 200, 'started, and ready')
    await later.app.services.purges!.idle()
    t.ok(later.logs.some((l) => l.includes('retention purge failed')), 'the failure is logged')
    t.equal((await later.call('GET', `/v1/invitations/${lapsed.invitation.id}`)).statusCode, 200, 'nothing purged')
    await outsideSql(later.config, 'DROP TRIGGER refuse_purge' + (TEST_ENGINE === 'sqlite' ? '' : ' ON invitations'))
    later.app.services.purges!.kick()
    await later.app.services.purges!.idle()
    t.equal((await later.call('GET', `/v1/invitations/${lapsed.invitation.id}`)).statusCode, 404, 'purged by the next run')
    await later.app.close()
  })
})

t.test('two service processes on one database file: each ticket redeems exactly once', async (t) => {
  const dir = t.testdir()
  const w = await world(t, {}, dir)
  const tickets: string[] = []
  for (let i = 0; i < 30; i++) tickets.push((await w.invite()).ticket)
  const requests = tickets.map((ticket) => ({ method: 'POST', url: '/v1/redemptions', token: w.bob, payload: { ticket } }))
  const startAt = Date.now() + 3000
  // The in-process app races the two others, too.
  const [a, b, c] = await Promise.all([
    runWorker(w.config, dir, requests, startAt),
    runWorker(w.config, dir, requests, startAt),
    new Promise((resolve) => setTimeout(resolve, startAt - Date.now()))
      .then(() => Promise.all(tickets.map((ticket) => w.redeem(ticket))))
      .then((rs) => rs.map((r) => ({ status: r.statusCode, code: r.json().code })))
  ])
  for (let i = 0; i < tickets.length; i++) {
    const outcomes = [a[i]!, b[i]!, c[i]!]
    t.equal(outcomes.filter((o) => o.status === 201).length, 1, `ticket ${i}: one winner across three processes`)
    t.ok(outcomes.every((o) => o.status === 201 || o.code === 'TICKET_ALREADY_REDEEMED'), `ticket ${i}: the others are told why`)
  }
  t.same(await outsideRows(w.config, 'SELECT count(*) AS n FROM sessions'), [{ n: tickets.length }])
})

t.test('a ticket is byte for byte the JWS jose signs with the same key and claims, and verifies with the published JWKS', async (t) => {
  const w = await world(t)
  const created = (await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, w.alice)).json()
  const claims = payload(created.ticket)
  const { key, kid } = await serviceKey(w)
  const byJose = await new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', typ: 'ra-invitation+jwt', kid })
    .setIssuer(String(claims.iss)).setAudience(String(claims.aud)).setSubject(String(claims.sub)).setJti(String(claims.jti))
    .setIssuedAt(Number(claims.iat)).setNotBefore(Number(claims.nbf)).setExpirationTime(Number(claims.exp))
    .sign(key)
  t.equal(created.ticket, byJose, 'same header, claims, order and signature (Ed25519 is deterministic)')
  const jwks = (await w.call('GET', '/.well-known/jwks.json', undefined, null)).json()
  const verified = await jwtVerify(created.ticket, createLocalJWKSet(jwks), {
    algorithms: ['EdDSA'],
    typ: 'ra-invitation+jwt',
    issuer: String(claims.iss),
    audience: String(claims.aud)
  })
  t.equal(verified.payload.sub, created.invitation.id)
})

t.test('redemption recognises an issued ticket by its stored hash; without the hash the signature decides; only the hash is stored', async (t) => {
  const dir = t.testdir()
  const w = await world(t, {}, dir)
  const first = await w.invite()
  const { storage } = w.app.services
  const stored = (await storage.get<{ ticket_hash: string }>('SELECT ticket_hash FROM invitations WHERE id = ?', first.invitation.id))!
  t.equal(stored.ticket_hash, createHash('sha256').update(first.ticket).digest('base64url'), 'the SHA-256 of the ticket, not the ticket')
  t.equal((await w.redeem(first.ticket)).statusCode, 201)

  // An invitation from before hashes were kept: verified by its signature, as before.
  const older = await w.invite()
  await storage.run('UPDATE invitations SET ticket_hash = NULL WHERE id = ?', older.invitation.id)
  t.equal((await w.redeem(older.ticket)).statusCode, 201)

  // A hash that matches is not enough when verification would refuse: here the service's URL changed since.
  const moved = await w.invite()
  const forged = await w.invite()
  await w.app.close()
  const again = await world(t, { RA_PUBLIC_BASE_URL: 'https://ra.example.com' }, dir)
  const res = await again.redeem(moved.ticket)
  t.equal(res.statusCode, 422)
  t.match(res.json().code, /^TICKET_(WRONG_AUDIENCE|CLAIMS_INVALID)$/)
  // And a hash never stands in for a different string: one changed signature character is refused.
  const [h, p, s] = parts(forged.ticket)
  const altered = `${h}.${p}.${s.slice(0, -2)}${s.at(-2) === 'A' ? 'B' : 'A'}${s.at(-1)}`
  t.equal((await again.redeem(altered)).statusCode, 422)
})

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Every other spelling of a base64url string that decodes to the same bytes (its last character's unused bits set). */
function respellings (part: string): string[] {
  const unused = part.length % 4 === 2 ? 4 : part.length % 4 === 3 ? 2 : 0
  const index = B64URL.indexOf(part.at(-1)!)
  const out: string[] = []
  for (let low = 0; low < 1 << unused; low++) {
    const spelled = part.slice(0, -1) + B64URL[(index & ~((1 << unused) - 1)) | low]
    if (spelled !== part) out.push(spelled)
  }
  return out
}

t.test('a ticket has exactly one spelling: other base64url spellings of the same bytes are TICKET_MALFORMED, ' +
  'by stored hash and by signature alike', async (t) => {
  const w = await world(t)
  const hashed = await w.invite()
  const unhashed = await w.invite()
  // Without its stored hash, an invitation's ticket is checked by signature (the path rows from before the hash take).
  await outsideSql(w.config, 'UPDATE invitations SET ticket_hash = NULL WHERE id = ?', unhashed.invitation.id)
  for (const { ticket, invitation } of [hashed, unhashed]) {
    const spellings = parts(ticket).flatMap((part, i) => respellings(part).map((r) => { const p = [...parts(ticket)]; p[i] = r; return p.join('.') }))
    t.ok(spellings.length >= 15, `${spellings.length} other spellings (the signature's last character alone has 15)`)
    for (const spelled of spellings) {
      t.same(spelled.split('.').map((x) => Buffer.from(x, 'base64url')), parts(ticket).map((x) => Buffer.from(x, 'base64url')), 'the same bytes')
      const res = await w.redeem(spelled)
      t.match(res.json(), { statusCode: 422, code: 'TICKET_MALFORMED', field: 'ticket' })
      await t.rejects(w.app.services.tickets.verify(spelled), { code: 'TICKET_MALFORMED' }, 'verify() refuses it too')
    }
    t.equal((await w.call('GET', `/v1/invitations/${invitation.id}`, undefined, w.alice)).json().state, 'open', 'the invitation is untouched')
    t.equal((await w.redeem(ticket)).statusCode, 201, 'the genuine spelling redeems')
  }
  t.match(
    (await w.redeem(`${parts(hashed.ticket)[0]}=.${parts(hashed.ticket)[1]}.${parts(hashed.ticket)[2]}`)).json(),
    { code: 'TICKET_MALFORMED' },
    'padding is not base64url'
  )
})

t.test('key rotation raced from three service processes: one active key afterwards; tickets from before and after all redeem', async (t) => {
  const dir = t.testdir()
  const w = await world(t, {}, dir)
  const before = await w.invite()
  const rotate = [{ method: 'POST', url: '/v1/keys/rotate', token: w.config.bootstrapAdminToken! }]
  const startAt = Date.now() + 2500
  const results = await Promise.all([
    runWorker(w.config, dir, rotate, startAt),
    runWorker(w.config, dir, rotate, startAt),
    new Promise((resolve) => setTimeout(resolve, startAt - Date.now())).then(() => w.call('POST', '/v1/keys/rotate'))
      .then((r) => [{ status: r.statusCode }])
  ])
  t.same(results.map((r) => r[0]!.status), [200, 200, 200], 'every rotation answered')
  const active = await outsideRows<{ kid: string }>(w.config, 'SELECT kid FROM signing_keys WHERE retired_at IS NULL')
  t.equal(active.length, 1, 'exactly one active signing key')
  const after = await w.invite()
  t.equal(JSON.parse(Buffer.from(after.ticket.split('.')[0], 'base64url').toString()).kid, active[0]!.kid, 'new tickets are signed with it')
  t.equal((await w.redeem(before.ticket)).statusCode, 201, 'a ticket from before the rotations still redeems')
  t.equal((await w.redeem(after.ticket)).statusCode, 201, 'a ticket from after them redeems')
  const jwks = (await w.call('GET', '/.well-known/jwks.json', undefined, null)).json().keys.map((k: Json) => k.kid)
  t.ok(jwks.includes(active[0]!.kid), 'the JWKS publishes the active key')
})
