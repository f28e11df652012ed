import t from 'tap'
import { MAX_CODE_MISMATCHES } from '../../src/domain/verification-code.js'
import { ADMIN_TOKEN, outsideRows, type Json } from '../helper.js'
import { world, type InvitationWorld } from './invitations-helper.js'
import { FAST, receiver, subscribe } from './webhook-receiver.js'

/** A session bob opened from alice's invitation, awaiting alice. */
async function awaiting (w: InvitationWorld): Promise<string> {
  const redeemed = await w.redeem((await w.invite()).ticket)
  if (redeemed.statusCode !== 201) throw new Error(redeemed.body)
  return redeemed.json().id
}

const accept = (w: InvitationWorld, id: string, body: Json, token = w.alice) => w.call('POST', `/v1/sessions/${id}/accept`, body, token)
const view = async (w: InvitationWorld, id: string, token = w.alice): Promise<Json> => (await w.call('GET', `/v1/sessions/${id}`, undefined, token)).json()

/** A policy object linked to CONTOSO that enables Solicited RA, with the verification-code extension as given. */
async function requireCode (w: InvitationWorld, state: 'enabled' | 'disabled' | 'not-configured', name = 'RA'): Promise<string> {
  const res = await w.call('POST', '/v1/policies', {
    name,
    settings: { solicitedRemoteAssistance: { state: 'enabled' } },
    extensions: { verificationCode: { state } }
  })
  if (res.statusCode !== 201) throw new Error(res.body)
  return res.json().policy.id
}

/** A code that is not the session's. */
const wrongOf = (code: string): string => String((Number(code) + 1) % 1_000_000).padStart(6, '0')

t.test('C1 compare the code: both parties see the same 6-digit code, derived from the session; no one else sees it', async (t) => {
  const w = await world(t)
  const id = await awaiting(w)
  const novice = await view(w, id)
  const expert = await view(w, id, w.bob)
  t.match(novice.verification, { code: /^[0-9]{6}$/, required: false, mismatches: 0 })
  t.equal(expert.verification.code, novice.verification.code, 'the expert reads out what the novice sees')
  t.equal((await view(w, id, null as unknown as string)).statusCode, 401)
  t.equal((await w.call('GET', `/v1/sessions/${id}`)).json().verification.code, null, 'the administrator is no party: no code')
  const other = await awaiting(w)
  t.not((await view(w, other)).verification.code, novice.verification.code, 'another session, another code (about one chance in a million otherwise)')
  t.equal((await view(w, id)).verification.code, novice.verification.code, 'stable: derived, not drawn each time')
})

t.test('C1 compare the code: required per policy object, the novice\'s accept needs it; spaces are fine; the right code accepts', async (t) => {
  const w = await world(t)
  const policy = await requireCode(w, 'enabled')
  await w.call('PUT', `/v1/domains/${w.contoso}/policy-links`, { policies: [policy] })
  t.match((await w.call('GET', `/v1/policies/${policy}`)).json(), { extensions: { verificationCode: { state: 'enabled' } } })
  const effective = (await w.call('GET', `/v1/computers/${w.pc10}/effective-policy`)).json()
  t.match(effective.settings.verificationCode, { value: 'required', source: { type: 'domain-policy', policyName: 'RA' } })

  const id = await awaiting(w)
  const { code, required } = (await view(w, id)).verification
  t.equal(required, true)
  t.match((await accept(w, id, { confirm: true })).json(), { statusCode: 422, code: 'VERIFICATION_CODE_REQUIRED', message: /6 digits/ })
  t.equal((await view(w, id)).verification.mismatches, 0, 'a missing code is not a wrong one')
  t.match((await accept(w, id, { confirm: true, verificationCode: 'abcdef' })).json(), { statusCode: 422, code: 'VERIFICATION_CODE_MISMATCH' })
  t.equal((await view(w, id)).verification.mismatches, 1, 'what is not six digits is a wrong code')
  t.match((await accept(w, id, { confirm: true, verificationCode: code }, w.bob)).json(), { statusCode: 403, code: 'NOT_SESSION_NOVICE' },
    'the expert cannot accept with the code')
  const accepted = await accept(w, id, { confirm: true, verificationCode: `${code.slice(0, 3)} ${code.slice(3)}` })
  t.equal(accepted.statusCode, 200, accepted.body)
  t.match(accepted.json(), { state: 'active', mode: 'view', verification: { mismatches: 1 } })
  const history = (await w.call('GET', `/v1/sessions/${id}/history?limit=50`, undefined, w.alice)).json().items
  t.match(history.find((e: Json) => e.type === 'session.accepted').data, { verificationCode: 'compared' })
})

t.test('C1 compare the code: a wrong code is refused; the third ends the session, audited as security.code-mismatch and sent to webhooks', async (t) => {
  const w = await world(t, FAST)
  const hooks = await receiver(t)
  await subscribe(w, hooks.url, ['security.code-mismatch', 'session.terminated'])
  await w.call('PUT', `/v1/domains/${w.contoso}/policy-links`, { policies: [await requireCode(w, 'enabled')] })
  const id = await awaiting(w)
  const wrong = wrongOf((await view(w, id)).verification.code)

  for (let attempt = 1; attempt <= MAX_CODE_MISMATCHES; attempt++) {
    const res = await accept(w, id, { confirm: true, verificationCode: wrong })
    t.match(res.json(), {
      statusCode: 422,
      code: 'VERIFICATION_CODE_MISMATCH',
      field: 'verificationCode',
      message: attempt < MAX_CODE_MISMATCHES ? new RegExp(`${MAX_CODE_MISMATCHES - attempt} tr(y|ies) left`) : /session has ended/
    })
    t.equal(res.body.includes(wrong), false, 'the code typed is not echoed')
  }
  const ended = await view(w, id)
  t.match(ended, { state: 'ended', mode: 'none', endReason: /verification code was typed wrong 3 times/, verification: { mismatches: 3 } })
  t.match(ended.securityEvents, [{ kind: 'code-mismatch', count: 1 }, { kind: 'code-mismatch' }, { kind: 'code-mismatch' }])
  t.match((await accept(w, id, { confirm: true, verificationCode: ended.verification.code })).json(), { statusCode: 409, code: 'SESSION_NOT_ACTIVE' },
    'the right code comes too late')

  const audit = (await w.call('GET', '/v1/audit-events?action=security.code-mismatch&limit=10')).json().items
  t.equal(audit.length, 3)
  t.match(audit[0], { actor: 'CONTOSO\\alice', target: `sessions/${id}`, outcome: 'denied', details: { attempt: 3, allowed: 3, sessionEnds: true } })
  t.equal(JSON.stringify(audit).includes(wrong), false, 'neither the right code nor the wrong one is in the audit trail')
  await hooks.until(() => hooks.all.some((r) => r.payload.type === 'session.terminated'))
  const sent = hooks.all.map((r) => r.payload)
  t.same(sent.filter((p) => p.type === 'security.code-mismatch').map((p) => p.data.attempt).sort(), [1, 2, 3])
  t.match(sent.find((p) => p.type === 'session.terminated').data, { sessionId: id, novice: 'CONTOSO\\alice', expert: 'CONTOSO\\bob' })
})

t.test('C1 compare the code: not required, a code may still be typed and a wrong one is still refused; the setting follows link order', async (t) => {
  const w = await world(t)
  const off = await requireCode(w, 'disabled', 'Off')
  const on = await requireCode(w, 'enabled', 'On')
  const unset = await requireCode(w, 'not-configured', 'Unset')
  await w.call('PUT', `/v1/domains/${w.contoso}/policy-links`, { policies: [unset, off, on] })
  const effective = (await w.call('GET', `/v1/computers/${w.pc10}/effective-policy`)).json()
  t.match(effective.settings.verificationCode, { value: 'not-required', source: { policyName: 'Off', linkOrder: 2 } }, 'not configured overrides nothing')

  const id = await awaiting(w)
  const { code } = (await view(w, id)).verification
  t.match((await accept(w, id, { confirm: true, verificationCode: wrongOf(code) })).json(), { statusCode: 422, code: 'VERIFICATION_CODE_MISMATCH' })
  t.equal((await accept(w, id, { confirm: true })).statusCode, 200, 'not required: accepting without the code')

  // PATCH changes only what it names: the extension, not the settings.
  const patched = await w.call('PATCH', `/v1/policies/${off}`, { extensions: { verificationCode: { state: 'enabled' } } })
  t.equal(patched.statusCode, 200, patched.body)
  t.match(patched.json().policy, { settings: { solicitedRemoteAssistance: { state: 'enabled' } }, extensions: { verificationCode: { state: 'enabled' } } })
  t.equal((await view(w, await awaiting(w))).verification.required, true, 'in force at once (O9)')
  const audit = (await w.call('GET', '/v1/audit-events?action=policy.update&limit=1')).json().items[0]
  t.match(audit.details.extensions, { before: { verificationCode: { state: 'disabled' } }, after: { verificationCode: { state: 'enabled' } } })

  t.match((await w.call('PATCH', `/v1/policies/${off}`, { extensions: { verificationCode: { state: 'on' } } })).json(),
    { statusCode: 400, code: 'VALIDATION_FAILED' })
  t.match((await w.call('PATCH', `/v1/policies/${off}`, { extensions: { other: { state: 'enabled' } } })).json(), { statusCode: 400 })
})

t.test('C1 compare the code: an extension, not an ADMX setting: not in a GPO\'s Registry.pol, and an imported one leaves it not configured', async (t) => {
  const w = await world(t)
  const withCode = await requireCode(w, 'enabled', 'With')
  const without = await requireCode(w, 'not-configured', 'Without')
  const file = async (id: string): Promise<Buffer> => (await w.call('GET', `/v1/policies/${id}/registry.pol`)).rawPayload
  t.same(await file(withCode), await file(without), 'the same Registry.pol: the extension is not written into the GPO file')
  const imported = await w.app.inject({
    method: 'POST',
    url: '/v1/policies/import?name=Imported',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' },
    payload: await file(withCode)
  })
  t.equal(imported.statusCode, 201, imported.body)
  t.same(imported.json().policy.extensions, { verificationCode: { state: 'not-configured' } })
  const rows = await outsideRows<{ extensions: string }>(w.config, 'SELECT extensions FROM policies WHERE id = ?', withCode)
  t.same(JSON.parse(rows[0]!.extensions), { verificationCode: { state: 'enabled' } }, 'stored beside the settings')
})
