// Helpers shared by the directory tests (test/routes/directory*.test.ts): a seeded directory, and
// assertions that a refused request answered in the error shape and changed nothing.
import type { LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { ADMIN_TOKEN, snapshot, type TestApp } from '../helper.js'

export type Call = TestApp['call']
export type Json = any

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
export const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
export const MISSING = '00000000-0000-4000-8000-000000000000'

// Seed-quoted firewall entries (SPEC F1, F3, F4), in the exact Windows string forms.
export const HELPCTR = '%WINDIR%\\PCHealth\\HelpCtr\\Binaries\\Helpctr.exe:*:Enabled:Remote Assistance – Windows Messenger and Voice'
export const SESSMGR = '%WINDIR%\\SYSTEM32\\Sessmgr.exe:*: Enabled: Remote Assistance'
export const HELPSVC = '%WINDIR%\\PCHealth\\HelpCtr\\Binaries\\Helpsvc.exe:*:Enabled:Offer Remote Assistance'
export const PORT_135 = '135:TCP:*:Enabled:Offer Remote Assistance'

/** The response is the error body with this status, stable code and (when given) field. */
export function isError (t: Test, res: LightMyRequestResponse, statusCode: number, code: string, field?: string | null): Json {
  t.equal(res.statusCode, statusCode, `status ${statusCode} (${res.body})`)
  const body = res.json()
  t.equal(body.statusCode, statusCode, 'statusCode in the body')
  t.equal(body.code, code, `code ${code}`)
  t.type(body.error, 'string')
  t.type(body.message, 'string')
  t.ok(body.message.length > 0, 'a message for humans')
  if (field === null) t.notOk('field' in body, 'no field')
  else if (field !== undefined) t.equal(body.field, field, `field ${field}`)
  return body
}

/**
 * Makes a request that must be refused, and checks that it changed nothing: every
 * listing and the whole audit trail (so no new *.create / *.update event either)
 * are identical before and after.
 */
export async function refused (
  t: Test, call: Call, method: string, url: string, body: unknown,
  statusCode: number, code: string, field?: string | null
): Promise<Json> {
  const before = await snapshot(call)
  const res = await call(method, url, body)
  const error = isError(t, res, statusCode, code, field)
  const after = await snapshot(call)
  t.strictSame(after, before, `${method} ${url} changed nothing`)
  const changes = after.audit!.filter((e) => /\.(create|update|delete)$/.test(e.action) && !before.audit!.some((b) => b.id === e.id))
  t.strictSame(changes, [], 'no new change event in the audit trail')
  return error
}

/** A raw (not JSON-encoded by the test) request, for malformed bodies. */
export function raw (app: TestApp['app'], method: string, url: string, payload: string, contentType = 'application/json'): Promise<LightMyRequestResponse> {
  return app.inject({
    method: method as 'POST',
    url,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': contentType },
    payload
  })
}

export async function created (t: Test, call: Call, path: string, body: unknown): Promise<Json> {
  const res = await call('POST', path, body)
  t.equal(res.statusCode, 201, `POST ${path} ${JSON.stringify(body).slice(0, 80)} → 201 (${res.statusCode === 201 ? 'ok' : res.body})`)
  return res.json()
}

export async function get (call: Call, path: string): Promise<Json> {
  const res = await call('GET', path)
  if (res.statusCode !== 200) throw new Error(`GET ${path} answered ${res.statusCode}: ${res.body}`)
  return res.json()
}

export async function patched (t: Test, call: Call, path: string, body: unknown): Promise<Json> {
  const res = await call('PATCH', path, body)
  t.equal(res.statusCode, 200, `PATCH ${path} → 200 (${res.statusCode === 200 ? 'ok' : res.body})`)
  return res.json()
}

export interface Seeded {
  contoso: Json
  fabrikam: Json
  alice: Json
  bob: Json
  carol: Json
  helpdesk: Json
  tier2: Json
  pc: Json
}

/** Two domains (FABRIKAM trusts CONTOSO), three users, Helpdesk ⊃ Tier2, one computer. */
export async function seed (t: Test, call: Call): Promise<Seeded> {
  const contoso = await created(t, call, '/v1/domains', { name: 'CONTOSO', dnsName: 'contoso.com' })
  const fabrikam = await created(t, call, '/v1/domains', { name: 'FABRIKAM', trusts: ['CONTOSO'] })
  const alice = await created(t, call, '/v1/users', { name: 'CONTOSO\\alice', displayName: 'Alice Novice', email: 'alice@contoso.com' })
  const bob = await created(t, call, '/v1/users', { name: 'CONTOSO\\bob', email: 'bob@contoso.com' })
  const carol = await created(t, call, '/v1/users', { name: 'FABRIKAM\\carol' })
  const tier2 = await created(t, call, '/v1/groups', { name: 'CONTOSO\\Tier2', members: ['FABRIKAM\\carol'] })
  const helpdesk = await created(t, call, '/v1/groups', { name: 'CONTOSO\\Helpdesk', members: ['CONTOSO\\bob', 'CONTOSO\\Tier2'] })
  const pc = await created(t, call, '/v1/computers', {
    name: 'CONTOSO\\PC-0042',
    platform: 'xp-pro-sp2',
    dcomEnabled: 'Y',
    localAdministrators: ['CONTOSO\\Helpdesk'],
    offerRaHelpers: ['CONTOSO\\bob'],
    users: ['CONTOSO\\alice'],
    firewall: { domain: { programExceptions: [HELPCTR, SESSMGR], portExceptions: [PORT_135] } },
    controlPanel: { remoteAssistanceEnabled: true, allowRemoteControl: true, maxInvitationTime: { value: 30, unit: 'days' } }
  })
  return { contoso, fabrikam, alice, bob, carol, helpdesk, tier2, pc }
}

export const names = (items: Json[]): string[] => items.map((i) => i.name)
/** An object without its id and time stamps, to compare the rest exactly. */
export const strip = (o: Json): Json => {
  const { id, createdAt, updatedAt, ...rest } = o
  return rest
}
