import { createHash } from 'node:crypto'
import Database from 'better-sqlite3'
import fc from 'fast-check'
import t from 'tap'
import type { Json } from '../helper.js'
import { world } from '../routes/invitations-helper.js'

/**
 * Everything the service stores, except append-only logs, the once-a-minute token "last used" stamp and the
 * rate-limit windows (every attempt counts, a refused one too).
 */
function snapshot (file: string): string {
  const db = new Database(file, { readonly: true })
  const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
    AND name NOT IN ('audit_events', 'session_events', 'limit_windows')`).all() as Array<{ name: string }>).map((r) => r.name).sort()
  const hash = createHash('sha256')
  for (const table of tables) {
    const rows = db.prepare(`SELECT * FROM "${table}" ORDER BY rowid`).all() as Array<Record<string, unknown>>
    hash.update(table + JSON.stringify(rows.map(({ last_used_at: _ignored, ...r }) => r)))
  }
  db.close()
  return hash.digest('hex')
}

const UNICODE_EDGES = [
  '\u0000', '\uD800', '\uDFFF', '\u202Egnp.exe', 'e\u0301', 'İ', 'ß', '\uFEFF', '😀'.repeat(50),
  '\r\nX-Injected: 1', '%00', '../../etc/passwd', "' OR 1=1 --", '<script>alert(1)</script>'
]

/** Percent-encodes anything, lone surrogates included (as the bytes Node would write: invalid UTF-8 on purpose). */
const percentEncode = (v: string): string => {
  try {
    return encodeURIComponent(v)
  } catch {
    return [...Buffer.from(v)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')
  }
}

/** Bad values for a property of the given JSON-schema type. */
function wrongFor (schema: Json): fc.Arbitrary<unknown> {
  const type = schema?.type
  const others: Array<fc.Arbitrary<unknown>> = [
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.string(),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 })
  ]
  const wrong = others.filter((_a, i) => !(
    (type === 'boolean' && i === 1) || ((type === 'integer' || type === 'number') && (i === 2 || i === 3)) ||
    (type === 'string' && i === 4) || (type === 'array' && i === 5) || (type === 'object' && i === 6)))
  return fc.oneof(
    ...wrong,
    fc.constantFrom(...UNICODE_EDGES),
    fc.constant('x'.repeat(20_000)),
    fc.constant({ __proto__: { admin: true } })
  )
}

t.test('schema-derived fuzzing of every route: no 5xx, unknown fields 400, over-size 413, and a refused request changes nothing', async (t) => {
  const w = await world(t)
  const { invitation } = await w.invite()
  const session = (await w.redeem((await w.invite()).ticket)).json()
  const ids: Record<string, string> = {
    computers: w.pc10,
    domains: w.contoso,
    invitations: invitation.id,
    sessions: session.id,
    users: (await w.call('GET', '/v1/users')).json().items[0].id,
    tokens: (await w.call('GET', '/v1/tokens')).json().items[0].id
  }
  const policy = (await w.call('POST', '/v1/policies', { name: 'Fuzz' })).json().policy.id
  ids['policies'] = policy
  const doc = w.app.swagger() as Json
  let requests = 0
  const fiveHundreds: string[] = []
  for (const [path, methods] of Object.entries(doc.paths as Record<string, Json>)) {
    if (!path.startsWith('/v1/') || path.endsWith('/events')) continue
    const url = path.replace(/\{id\}/, ids[path.split('/')[2]!] ?? '00000000-0000-4000-8000-000000000000').replace(/\{rid\}/, '00000000-0000-4000-8000-000000000000')
    for (const [method, op] of Object.entries(methods as Record<string, Json>)) {
      const bodySchema = op.requestBody?.content?.['application/json']?.schema
      const query = (op.parameters ?? []).filter((p: Json) => p.in === 'query')
      const send = async (opts: { payload?: unknown, rawPayload?: string, query?: string }) => {
        requests++
        const before = snapshot(w.config.databaseFile)
        const res = await w.app.inject({
          method: method.toUpperCase() as 'POST',
          url: url + (opts.query ? `?${opts.query}` : ''),
          headers: {
            authorization: 'Bearer test-admin-token-0123456789abcdefghijklmnop',
            ...(opts.payload !== undefined || opts.rawPayload !== undefined ? { 'content-type': 'application/json' } : {})
          },
          ...(opts.rawPayload !== undefined ? { payload: opts.rawPayload } : opts.payload !== undefined ? { payload: JSON.stringify(opts.payload) } : {})
        })
        if (res.statusCode >= 500) fiveHundreds.push(`${method.toUpperCase()} ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`)
        if (res.statusCode >= 400 && snapshot(w.config.databaseFile) !== before) {
          t.fail(`${method.toUpperCase()} ${url} was refused (${res.statusCode}) but changed the database`)
        }
        return res
      }
      if (bodySchema) {
        const props = Object.entries((bodySchema.properties ?? {}) as Record<string, Json>)
        // Unknown fields are refused by name.
        const unknown = await send({ payload: { zzUnknownField: 1 } })
        t.equal(unknown.statusCode, 400, `${method.toUpperCase()} ${path}: unknown field → 400`)
        // Over-size bodies are 413 (the import route has its own larger limit).
        const big = path === '/v1/directory/import' ? 5 * 1024 * 1024 : 20 * 1024
        t.equal((await send({ rawPayload: JSON.stringify({ x: 'y'.repeat(big) }) })).statusCode, 413, `${method.toUpperCase()} ${path}: over-size → 413`)
        t.equal((await send({ rawPayload: '{"__proto__":{"admin":true}}' })).statusCode, 400, `${method.toUpperCase()} ${path}: __proto__ → 400`)
        t.equal((await send({ rawPayload: '{"a":' })).statusCode, 400, `${method.toUpperCase()} ${path}: broken JSON → 400`)
        // Each property, given bad values.
        for (const [name, schema] of props) {
          for (const value of fc.sample(wrongFor(schema), { numRuns: 12, seed: requests })) {
            const res = await send({ payload: { [name]: value } })
            t.ok(res.statusCode < 500, `${method.toUpperCase()} ${path} ${name}=${JSON.stringify(value)?.slice(0, 40)}: ${res.statusCode}`)
          }
        }
      }
      for (const q of query) {
        for (const value of fc.sample(
          fc.oneof(fc.constantFrom(...UNICODE_EDGES), fc.string(), fc.constant('-1'), fc.constant('1e309'), fc.constant('x'.repeat(5000))),
          { numRuns: 6, seed: requests }
        )) {
          await send({ query: `${encodeURIComponent(q.name)}=${percentEncode(value)}` })
        }
      }
      if (method === 'get' && query.length > 0) t.equal((await send({ query: 'zzUnknown=1' })).statusCode, 400, `GET ${path}: unknown query parameter → 400`)
    }
  }
  t.same(fiveHundreds, [], `no 5xx in ${requests} requests`)
  t.ok(requests > 500, `${requests} requests`)
})
