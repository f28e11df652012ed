import fc from 'fast-check'
import { generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose'
import t from 'tap'
import { world } from '../routes/invitations-helper.js'
import { outsideRows } from '../helper.js'

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64url')
const parts = (ticket: string) => ticket.split('.') as [string, string, string]
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const json = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>

// Ten thousand requests: on PostgreSQL, on a busy 2-core machine, this passed 120 s (tap's default bound, not a timing
// assertion). The bound is the file's as well as the test's: tap stops the whole file at its own timeout (.taprc).
t.setTimeout(600_000)
t.test('10,000+ generated forged and mutated tickets: none accepted, none a server error', { timeout: 600_000 }, async (t) => {
  const w = await world(t)
  const { ticket } = await w.invite()
  const [h, p, s] = parts(ticket)
  const header = json(h)
  const claims = json(p)
  const [row] = await outsideRows<{ kid: string, private_key: string, public_jwk: string }>(w.config, 'SELECT kid, private_key, public_jwk FROM signing_keys')
  if (!row) throw new Error('no signing key')
  const ours = await importJWK(JSON.parse(row.private_key) as JWK, 'EdDSA') as CryptoKey
  const stranger = (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey
  const sign = (hdr: Record<string, unknown>, body: Record<string, unknown>, key: CryptoKey) => new SignJWT(body).setProtectedHeader(hdr as never).sign(key)

  // Structured forgeries, each a family of generated cases.
  const claimMutation = fc.record({
    drop: fc.subarray(['exp', 'jti', 'sub', 'iat', 'nbf', 'iss', 'aud']),
    iss: fc.option(fc.oneof(fc.webUrl(), fc.string()), { nil: undefined }),
    aud: fc.option(fc.oneof(fc.webUrl(), fc.string(), fc.array(fc.string())), { nil: undefined }),
    typ: fc.option(fc.constantFrom('JWT', 'at+jwt', 'ra-invitation+JWT', 'ra-invitation', ''), { nil: undefined }),
    kid: fc.option(fc.oneof(fc.uuid(), fc.string()), { nil: undefined }),
    strangerKey: fc.boolean()
  }).filter((m) => m.drop.length > 0 || m.iss !== undefined || m.aud !== undefined || m.typ !== undefined || m.kid !== undefined || m.strangerKey)

  const forgeries = fc.oneof(
    // A flipped bit in any part.
    fc.record({ part: fc.integer({ min: 0, max: 2 }), bit: fc.nat() }).map(({ part, bit }) => {
      const bytes = Buffer.from(parts(ticket)[part]!, 'base64url')
      bytes[bit % bytes.length]! ^= 1 << (bit % 8)
      const out = [...parts(ticket)]
      out[part] = bytes.toString('base64url')
      return Promise.resolve(out.join('.'))
    }).filter(() => true),
    // alg none / None / NONE, with and without a signature.
    fc.record({ alg: fc.constantFrom('none', 'None', 'NONE', 'nOnE'), sig: fc.boolean() }).map(({ alg, sig }) =>
      Promise.resolve(`${b64(JSON.stringify({ ...header, alg }))}.${p}.${sig ? s : ''}`)),
    // HMAC with the public key (or its JSON) as the secret.
    fc.constantFrom('HS256', 'HS384', 'HS512').chain((alg) => fc.constantFrom(row.public_jwk, JSON.parse(row.public_jwk).x as string).map((secret) =>
      new SignJWT(claims).setProtectedHeader({ ...header, alg } as never).sign(new TextEncoder().encode(secret)))),
    // Claims and header mutations, signed by our real key or a stranger's.
    claimMutation.map((m) => {
      const body: Record<string, unknown> = { ...claims }
      for (const k of m.drop) delete body[k]
      if (m.iss !== undefined) body['iss'] = m.iss
      if (m.aud !== undefined) body['aud'] = m.aud
      const hdr: Record<string, unknown> = { ...header }
      if (m.typ !== undefined) hdr['typ'] = m.typ
      if (m.kid !== undefined) hdr['kid'] = m.kid
      return sign(hdr, body, m.strangerKey ? stranger : ours)
    }),
    // The JSON serializations, and huge or garbage tokens.
    fc.constant(Promise.resolve(JSON.stringify({ protected: h, payload: p, signature: s }))),
    fc.constant(Promise.resolve(JSON.stringify({ payload: p, signatures: [{ protected: h, signature: s }] }))),
    fc.integer({ min: 1, max: 64 }).map((n) => Promise.resolve(`${h}.${b64('x'.repeat(n * 1024))}.${s}`)),
    fc.string({ unit: 'binary', maxLength: 300 }).map((x) => Promise.resolve(x)),
    fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map(([a, b, c]) => Promise.resolve(`${a}.${b}.${c}`)),
    // The genuine ticket re-spelled: a part's last character with other unused low bits (the same bytes).
    fc.record({ part: fc.integer({ min: 0, max: 2 }), low: fc.integer({ min: 1, max: 15 }) }).map(({ part, low }) => {
      const out = [...parts(ticket)]
      const text = out[part]!
      const unused = text.length % 4 === 2 ? 4 : text.length % 4 === 3 ? 2 : 0
      const index = B64URL.indexOf(text.at(-1)!)
      out[part] = text.slice(0, -1) + B64URL[index ^ (low & ((1 << unused) - 1))]
      return Promise.resolve(out.join('.'))
    })
  )

  // Every forgery goes through POST /v1/redemptions: the same path as a real redemption, stored-hash lookup included.
  const cases = fc.sample(forgeries, { numRuns: 10_200, seed: 20261122 })
  let checked = 0
  const unexpected: string[] = []
  const codes = new Map<string, number>()
  for (const pending of cases) {
    const forged = await pending
    if (forged === ticket) continue // a mutation that changed nothing (a bit flipped in base64url padding)
    const res = await w.app.inject({ method: 'POST', url: '/v1/redemptions', headers: { authorization: `Bearer ${w.bob}` }, payload: { ticket: forged } })
    if (res.statusCode === 201 || res.statusCode >= 500) unexpected.push(`${res.statusCode} for ${forged.slice(0, 80)}`)
    else codes.set(res.json().code, (codes.get(res.json().code) ?? 0) + 1)
    checked++
  }
  t.ok(checked >= 10_000, `${checked} forged tickets sent to POST /v1/redemptions`)
  t.same(unexpected.slice(0, 5), [], 'none accepted, every refusal a 4xx')
  t.ok(
    codes.get('TICKET_MALFORMED')! > 0 && codes.get('TICKET_SIGNATURE_INVALID')! > 0 && codes.get('TICKET_CLAIMS_INVALID')! > 0,
    `refused with their codes: ${JSON.stringify([...codes])}`
  )
  t.same((await w.call('GET', '/v1/sessions')).json().items, [], 'no session was opened')
  t.equal((await w.redeem(ticket)).statusCode, 201, 'and the genuine ticket, in its one spelling, still redeems')
})
