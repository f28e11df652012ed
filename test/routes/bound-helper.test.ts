import t, { type Test } from 'tap'
import type { Json } from '../helper.js'
import { world, type InvitationWorld } from './invitations-helper.js'

/** bob and dave (through Tier2, nested in Helpdesk) are helpdesk; erin is disabled; carol is no helper. */
async function helpdesk (t: Test): Promise<InvitationWorld & { dave: string }> {
  const w = await world(t)
  const res = await w.call('POST', '/v1/directory/import', {
    users: [{ name: 'CONTOSO\\dave' }, { name: 'CONTOSO\\erin', enabled: false }],
    groups: [
      { name: 'CONTOSO\\Tier2', members: ['CONTOSO\\dave'] },
      { name: 'CONTOSO\\Helpdesk', members: ['CONTOSO\\bob', 'CONTOSO\\Tier2'] }
    ]
  })
  if (res.statusCode !== 200) throw new Error(res.body)
  const dave = (await w.call('POST', '/v1/tokens', { principal: { type: 'user', user: 'CONTOSO\\dave' } })).json().token
  return { ...w, dave }
}

const audit = async (w: InvitationWorld, action: string): Promise<Json[]> =>
  (await w.call('GET', `/v1/audit-events?action=${action}&limit=50`)).json().items

t.test('BOUND_HELPER: an invitation bound to a user is redeemed by that user only; anyone else is refused 403, audited, before the password', async (t) => {
  const w = await helpdesk(t)
  const created = await w.invite({ helper: 'contoso\\BOB', password: 'Password1-ok', externalRef: 'INC-7' })
  t.match(created.invitation, { helper: 'CONTOSO\\bob' }, 'named as the directory spells it')

  for (const attempt of [0, 1, 2, 3, 4, 5]) {
    const refused = await w.redeem(created.ticket, `wrong-${attempt}`, w.carol)
    t.match(refused.json(), {
      statusCode: 403,
      code: 'NOT_BOUND_HELPER',
      checks: [{ rule: 'BOUND_HELPER', passed: false, detail: /bound to CONTOSO\\bob; CONTOSO\\carol is not/, remedy: /new invitation/ }]
    })
  }
  const preview = await w.call('POST', '/v1/redemptions/preview', { ticket: created.ticket }, w.carol)
  t.match(preview.json(), { statusCode: 403, code: 'NOT_BOUND_HELPER' }, 'the preview refuses as redemption would')
  const invitation = (await w.call('GET', `/v1/invitations/${created.invitation.id}`, undefined, w.alice)).json()
  t.match(invitation, { state: 'open', failedPasswordAttempts: 0 }, 'someone else cannot spend its password attempts and lock it')
  const refusals = await audit(w, 'invitation.redeem-refused')
  t.equal(refusals.length, 6)
  t.match(refusals[0], {
    actor: 'CONTOSO\\carol', target: `invitations/${created.invitation.id}`, outcome: 'denied', details: { code: 'NOT_BOUND_HELPER', rules: ['BOUND_HELPER'] }
  })

  const redeemed = await w.redeem(created.ticket, 'Password1-ok')
  t.equal(redeemed.statusCode, 201, redeemed.body)
  t.match(redeemed.json(), { boundHelper: 'CONTOSO\\bob', expert: { name: 'CONTOSO\\bob' }, externalRef: 'INC-7' })
  const seen = (await w.call('GET', `/v1/sessions/${redeemed.json().id}`, undefined, w.alice)).json()
  t.match(seen, { boundHelper: 'CONTOSO\\bob', state: 'awaiting-novice' }, 'the novice sees that the expert is the one they named')

  const unbound = await w.invite()
  t.equal(unbound.invitation.helper, null)
  t.equal((await w.redeem(unbound.ticket, undefined, w.carol)).statusCode, 201, 'an unbound invitation: anyone the policy lets')
})

t.test('BOUND_HELPER: bound to a group, members redeem (nested too), others do not; a deleted group matches no one', async (t) => {
  const w = await helpdesk(t)
  const nested = await w.invite({ helper: 'CONTOSO\\Helpdesk' })
  t.match((await w.call('POST', '/v1/redemptions/preview', { ticket: nested.ticket }, w.dave)).json(), { invitationId: nested.invitation.id })
  const byDave = await w.redeem(nested.ticket, undefined, w.dave)
  t.equal(byDave.statusCode, 201, 'dave is in Tier2, inside Helpdesk')
  t.equal(byDave.json().boundHelper, 'CONTOSO\\Helpdesk')

  const other = await w.invite({ helper: 'CONTOSO\\Helpdesk' })
  t.match((await w.redeem(other.ticket, undefined, w.carol)).json(), { statusCode: 403, code: 'NOT_BOUND_HELPER' })

  // Bound to Tier2, which is then deleted: the binding does not fall away.
  const tier2 = (await w.call('GET', '/v1/groups?limit=50')).json().items.find((g: Json) => g.name === 'CONTOSO\\Tier2')
  const gone = await w.invite({ helper: 'CONTOSO\\Tier2' })
  await w.call('PATCH', `/v1/groups/${(await w.call('GET', '/v1/groups?limit=50')).json().items.find((g: Json) => g.name === 'CONTOSO\\Helpdesk').id}`,
    { members: ['CONTOSO\\bob'] })
  t.equal((await w.call('DELETE', `/v1/groups/${tier2.id}`)).statusCode, 204)
  t.match((await w.redeem(gone.ticket, undefined, w.dave)).json(), { statusCode: 403, code: 'NOT_BOUND_HELPER' }, 'no one is a member of a deleted group')
})

t.test('BOUND_HELPER: the helper must be a user or group of the directory, enabled, not the novice; an integration binds for a novice', async (t) => {
  const w = await helpdesk(t)
  const cases = [
    [{ helper: 'CONTOSO\\nobody' }, 'UNKNOWN_REFERENCE'],
    [{ helper: 'CONTOSO\\erin' }, 'INVALID_REFERENCE'],
    [{ helper: 'CONTOSO\\alice' }, 'INVALID_REFERENCE'],
    [{ helper: 'no-domain' }, 'VALIDATION_FAILED']
  ] as const
  for (const [body, code] of cases) {
    const res = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', ...body }, w.alice)
    t.match(res.json(), { code }, JSON.stringify(body))
  }
  t.equal((await w.call('GET', '/v1/invitations', undefined, w.alice)).json().items.length, 0, 'nothing was created')

  const token = (await w.call('POST', '/v1/tokens', { principal: { type: 'integration', name: 'servicenow', scopes: ['invitations:write'] } })).json().token
  const created = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', novice: 'CONTOSO\\alice', helper: 'CONTOSO\\dave' }, token)
  t.equal(created.statusCode, 201, created.body)
  t.match((await w.redeem(created.json().ticket)).json(), { statusCode: 403, code: 'NOT_BOUND_HELPER' }, 'bob is not dave')
  t.equal((await w.redeem(created.json().ticket, undefined, w.dave)).statusCode, 201, 'the assigned engineer redeems')
  t.match((await audit(w, 'invitation.create'))[0], { details: { helper: 'CONTOSO\\dave' } })
})
