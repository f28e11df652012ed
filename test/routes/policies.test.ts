import t from 'tap'
import { build, type Json, type TestApp } from '../helper.js'

/** CONTOSO with alice at PC-XP (XP) and PC-10 (Windows 10); FABRIKAM trusts nothing. Admin groups, nested. */
async function setup (t: Tap) {
  const app = await build(t)
  const res = await app.call('POST', '/v1/directory/import', {
    domains: [{ name: 'CONTOSO' }, { name: 'FABRIKAM' }],
    users: [
      { name: 'CONTOSO\\alice' }, { name: 'CONTOSO\\gpo-author' }, { name: 'CONTOSO\\da' }, { name: 'FABRIKAM\\ea' }, { name: 'FABRIKAM\\da' }
    ],
    groups: [
      { name: 'CONTOSO\\Group Policy Creator Owners', members: ['CONTOSO\\GPO Team'] },
      { name: 'CONTOSO\\GPO Team', members: ['CONTOSO\\gpo-author'] },
      { name: 'CONTOSO\\Domain Admins', members: ['CONTOSO\\da'] },
      { name: 'FABRIKAM\\Enterprise Admins', members: ['FABRIKAM\\ea'] },
      { name: 'FABRIKAM\\Domain Admins', members: ['FABRIKAM\\da'] },
      { name: 'CONTOSO\\Helpdesk' }
    ],
    computers: [
      { name: 'CONTOSO\\PC-XP', platform: 'xp-pro', users: ['CONTOSO\\alice'] },
      { name: 'CONTOSO\\PC-10', platform: 'windows-10', users: ['CONTOSO\\alice'] },
      {
        name: 'CONTOSO\\PC-OFF',
        platform: 'xp-pro',
        controlPanel: { remoteAssistanceEnabled: false, allowRemoteControl: true, maxInvitationTime: { value: 1, unit: 'hours' } }
      }
    ]
  })
  t.equal(res.statusCode, 200, res.body)
  const id = async (path: string, name: string): Promise<string> =>
    ((await app.call('GET', `${path}?limit=500`)).json().items as Json[]).find((i) => i.name === name).id
  const tokenOf = async (user: string): Promise<string> => (await app.call('POST', '/v1/tokens', { principal: { type: 'user', user } })).json().token
  return {
    ...app,
    contoso: await id('/v1/domains', 'CONTOSO'),
    pcXp: await id('/v1/computers', 'CONTOSO\\PC-XP'),
    pc10: await id('/v1/computers', 'CONTOSO\\PC-10'),
    pcOff: await id('/v1/computers', 'CONTOSO\\PC-OFF'),
    tokenOf
  }
}
type Tap = Parameters<typeof build>[0]

const effective = async (app: TestApp, computer: string): Promise<Json> => {
  const res = await app.call('GET', `/v1/computers/${computer}/effective-policy`)
  if (res.statusCode !== 200) throw new Error(res.body)
  return res.json()
}

t.test('O10: a policy saved with a helper the directory does not know succeeds with a warning naming the entry', async (t) => {
  const app = await setup(t)
  const res = await app.call('POST', '/v1/policies', {
    name: 'Offer RA',
    settings: { offerRemoteAssistance: { state: 'enabled', permission: 'view', helpers: ['CONTOSO\\Helpdesk', 'CONTOSO\\Ghosts'] } }
  })
  t.equal(res.statusCode, 201)
  const { policy, warnings } = res.json()
  t.same(policy.settings.offerRemoteAssistance, { state: 'enabled', permission: 'view', helpers: ['CONTOSO\\Helpdesk', 'CONTOSO\\Ghosts'] })
  t.equal(policy.settings.solicitedRemoteAssistance.state, 'not-configured', 'settings left out are not configured')
  t.equal(warnings.length, 1)
  t.match(warnings[0], { field: 'settings.offerRemoteAssistance.helpers[1]', message: /CONTOSO\\Ghosts/ })
})

t.test('bad settings are refused naming the field, and change nothing', async (t) => {
  const app = await setup(t)
  const cases: Array<[Json, number, string]> = [
    [
      { solicitedRemoteAssistance: { state: 'enabled', maxTicketTime: { value: 100, unit: 'hours' } } },
      400,
      'settings.solicitedRemoteAssistance.maxTicketTime.value'
    ],
    [
      { solicitedRemoteAssistance: { state: 'enabled', maxTicketTime: { value: 0, unit: 'hours' } } },
      400,
      'settings.solicitedRemoteAssistance.maxTicketTime.value'
    ],
    [
      { solicitedRemoteAssistance: { state: 'enabled', maxTicketTime: { value: 5, unit: 'weeks' } } },
      400,
      'settings.solicitedRemoteAssistance.maxTicketTime.unit'
    ],
    [{ solicitedRemoteAssistance: { state: 'disabled', permitRemoteControl: 'view' } }, 422, 'settings.solicitedRemoteAssistance.permitRemoteControl'],
    [{ offerRemoteAssistance: { state: 'disabled', helpers: ['CONTOSO\\Helpdesk'] } }, 422, 'settings.offerRemoteAssistance.helpers'],
    [{ offerRemoteAssistance: { state: 'enabled', helpers: ['Helpdesk'] } }, 400, 'settings.offerRemoteAssistance.helpers[0]'],
    [{ sessionLogging: { state: 'on' } }, 400, 'settings.sessionLogging.state'],
    [{ customMessages: { state: 'enabled' } }, 422, 'settings.customMessages'],
    [{ solicitedRemoteAssistance: { state: 'enabled', ticketTime: 5 } }, 400, 'settings.solicitedRemoteAssistance.ticketTime']
  ]
  for (const [settings, status, field] of cases) {
    const res = await app.call('POST', '/v1/policies', { name: 'Bad', settings })
    t.equal(res.statusCode, status, `${field}: ${res.body}`)
    t.equal(res.json().field, field)
  }
  t.same((await app.call('GET', '/v1/policies')).json().items, [], 'nothing was created')
  const dup = await app.call('POST', '/v1/policies', { name: 'Same' })
  t.equal(dup.statusCode, 201)
  t.match((await app.call('POST', '/v1/policies', { name: 'SAME' })).json(), { statusCode: 409, code: 'DUPLICATE_NAME', field: 'name' })
})

t.test('effective-policy names the source of every setting: domain link, local policy, Control Panel, platform default', async (t) => {
  const app = await setup(t)
  const first = (await app.call('POST', '/v1/policies', { name: 'First', settings: { sessionLogging: { state: 'enabled' } } })).json().policy
  const second = (await app.call('POST', '/v1/policies', {
    name: 'Second',
    settings: {
      sessionLogging: { state: 'disabled' },
      solicitedRemoteAssistance: { state: 'enabled', maxTicketTime: { value: 3, unit: 'hours' } }
    }
  })).json().policy
  const links = await app.call('PUT', `/v1/domains/${app.contoso}/policy-links`, { policies: [first.id, second.id] })
  t.same(links.json().links.map((l: Json) => [l.policyName, l.linkOrder]), [['First', 1], ['Second', 2]])
  const local = await app.call('PUT', `/v1/computers/${app.pcXp}/local-policy`, {
    settings: {
      solicitedRemoteAssistance: { state: 'enabled', maxTicketTime: { value: 10, unit: 'minutes' } },
      encryptedOnlyTickets: { state: 'enabled' }
    }
  })
  t.equal(local.statusCode, 200, local.body)

  const e = await effective(app, app.pcXp)
  t.match(
    e.settings.sessionLogging,
    { value: 'enabled', source: { type: 'domain-policy', policyName: 'First', domain: 'CONTOSO', linkOrder: 1 } },
    'link order 1 wins'
  )
  t.match(
    e.settings.maxTicketTime,
    { value: { value: 3, unit: 'hours' }, source: { type: 'domain-policy', policyName: 'Second', linkOrder: 2 } },
    'a domain link wins over the local policy'
  )
  t.match(
    e.settings.encryptedOnlyTickets,
    { value: 'enabled', source: { type: 'local-policy', computer: 'CONTOSO\\PC-XP' } },
    'not configured in the domain policies: the local one stands'
  )
  t.match(e.settings.customMessages, { value: null, source: { type: 'not-configured' } })
  for (const [name, setting] of Object.entries(e.settings as Record<string, Json>)) t.type(setting.source?.type, 'string', `${name} has a source`)

  // Unlink: the Control Panel fallback and platform defaults show through.
  await app.call('PUT', `/v1/domains/${app.contoso}/policy-links`, { policies: [] })
  const off = await effective(app, app.pcOff)
  t.match(off.settings.solicitedRemoteAssistance, { value: 'disabled', source: { type: 'control-panel', computer: 'CONTOSO\\PC-OFF' } })
  const ten = await effective(app, app.pc10)
  t.match(ten.settings.maxTicketTime, { value: { value: 6, unit: 'hours' }, source: { type: 'platform-default', platform: 'windows-10' } })
})

t.test('S4: on Vista and later the e-mail method is SMAPI whatever the policy says, with a note', async (t) => {
  const app = await setup(t)
  const p = (await app.call('POST', '/v1/policies', {
    name: 'Mailto',
    settings: { solicitedRemoteAssistance: { state: 'enabled', emailMethod: 'mailto' } }
  })).json().policy
  await app.call('PUT', `/v1/domains/${app.contoso}/policy-links`, { policies: [p.id] })
  t.match((await effective(app, app.pc10)).settings.emailMethod, { value: 'smapi', source: { type: 'platform-default' }, note: /Mailto.*"Mailto"/ })
  t.match((await effective(app, app.pcXp)).settings.emailMethod, { value: 'mailto', source: { type: 'domain-policy', policyName: 'Mailto' } })
})

t.test('S7/O1 in effective-policy: Offer RA in force only with Offer enabled and Solicited not disabled', async (t) => {
  const app = await setup(t)
  const p = (await app.call('POST', '/v1/policies', { name: 'Offer', settings: { offerRemoteAssistance: { state: 'enabled' } } })).json().policy
  await app.call('PUT', `/v1/domains/${app.contoso}/policy-links`, { policies: [p.id] })
  t.match((await effective(app, app.pcXp)).offer, { allowed: true, checks: [{ rule: 'O1', passed: true }, { rule: 'S7', passed: true }] })
  t.match((await effective(app, app.pcOff)).offer, { allowed: false, checks: [{ rule: 'O1', passed: true }, { rule: 'S7', passed: false }] })
})

t.test('O9: a change applies to the very next decision, and is audited with before and after', async (t) => {
  const app = await setup(t)
  const p = (await app.call('POST', '/v1/policies', {
    name: 'Tickets',
    settings: { solicitedRemoteAssistance: { state: 'enabled', maxTicketTime: { value: 2, unit: 'hours' } } }
  })).json().policy
  await app.call('PUT', `/v1/domains/${app.contoso}/policy-links`, { policies: [p.id] })
  t.same((await effective(app, app.pcXp)).settings.maxTicketTime.value, { value: 2, unit: 'hours' })
  const changed = await app.call('PATCH', `/v1/policies/${p.id}`, { settings: { solicitedRemoteAssistance: { state: 'disabled' } } })
  t.equal(changed.statusCode, 200, changed.body)
  const now = await effective(app, app.pcXp)
  t.match(now.settings.solicitedRemoteAssistance, { value: 'disabled', source: { type: 'domain-policy', policyName: 'Tickets' } })
  t.equal(now.settings.maxTicketTime.value, null)

  const events = (await app.call('GET', `/v1/audit-events?target=policies/${p.id}`)).json().items
  t.same(events.map((e: Json) => e.action), ['policy.update', 'policy.create'])
  t.match(events[0].details, {
    before: { solicitedRemoteAssistance: { state: 'enabled', maxTicketTime: { value: 2, unit: 'hours' } } },
    after: { solicitedRemoteAssistance: { state: 'disabled' } }
  })
  const linkEvent = (await app.call('GET', '/v1/audit-events?action=policy.links')).json().items[0]
  t.match(linkEvent.details, { before: [], after: [{ policyName: 'Tickets', linkOrder: 1 }] })
})

t.test('O11: users outside Domain Admins, Enterprise Admins and Group Policy Creator Owners cannot edit policy; nested members can', async (t) => {
  const app = await setup(t)
  const alice = await app.tokenOf('CONTOSO\\alice')
  const denied = await app.call('POST', '/v1/policies', { name: 'Alice\'s' }, alice)
  t.equal(denied.statusCode, 403)
  t.match(denied.json(), { code: 'POLICY_DENIED', message: /O11/, checks: [{ rule: 'O11', passed: false, remedy: /Group Policy Creator Owners/ }] })
  t.equal((await app.call('GET', '/v1/policies', undefined, alice)).statusCode, 200, 'reading is allowed')
  t.equal((await app.call('GET', '/v1/audit-events?action=policy.edit-denied')).json().items.length, 1, 'the refusal is audited')

  const author = await app.tokenOf('CONTOSO\\gpo-author') // in GPCO through CONTOSO\GPO Team
  const created = await app.call('POST', '/v1/policies', { name: 'Author\'s' }, author)
  t.equal(created.statusCode, 201, created.body)
  const id = created.json().policy.id
  t.equal((await app.call('PUT', `/v1/domains/${app.contoso}/policy-links`, { policies: [id] }, author)).statusCode, 200)
  t.equal((await app.call('PUT', `/v1/computers/${app.pcXp}/local-policy`, { settings: {} }, author)).statusCode, 200)

  const fabrikamDa = await app.tokenOf('FABRIKAM\\da')
  const other = await app.call('PATCH', `/v1/policies/${id}`, { description: 'x' }, fabrikamDa)
  t.match(other.json(), { statusCode: 403, checks: [{ rule: 'O11', detail: /CONTOSO/ }] }, 'a FABRIKAM domain admin cannot change a policy linked to CONTOSO')
  const ea = await app.tokenOf('FABRIKAM\\ea')
  t.equal((await app.call('PATCH', `/v1/policies/${id}`, { description: 'forest-wide' }, ea)).statusCode, 200, 'Enterprise Admins may')
  t.equal((await app.call('DELETE', `/v1/policies/${id}`, undefined, alice)).statusCode, 403)
  t.equal((await app.call('DELETE', `/v1/policies/${id}`, undefined, await app.tokenOf('CONTOSO\\da'))).statusCode, 204)

  const integration = (await app.call('POST', '/v1/tokens', { principal: { type: 'integration', name: 'reader', scopes: ['policies:read'] } })).json().token
  t.match((await app.call('POST', '/v1/policies', { name: 'x' }, integration)).json(), { statusCode: 403, code: 'INSUFFICIENT_SCOPE' })
  t.equal((await app.call('GET', `/v1/computers/${app.pcXp}/effective-policy`, undefined, integration)).statusCode, 200)
  t.equal(
    (await app.call('GET', `/v1/computers/${app.pcXp}/effective-policy`, undefined, alice)).statusCode,
    403,
    'effective policy is for administrators and integrations'
  )
})

t.test('links: unknown policies are refused; deleting a policy removes its links', async (t) => {
  const app = await setup(t)
  const bad = await app.call('PUT', `/v1/domains/${app.contoso}/policy-links`, { policies: ['00000000-0000-4000-8000-000000000000'] })
  t.match(bad.json(), { statusCode: 422, code: 'UNKNOWN_REFERENCE', field: 'policies[0]' })
  const p = (await app.call('POST', '/v1/policies', { name: 'Linked' })).json().policy
  await app.call('PUT', `/v1/domains/${app.contoso}/policy-links`, { policies: [p.id] })
  t.match((await app.call('GET', `/v1/policies/${p.id}`)).json().links, [{ domain: 'CONTOSO', linkOrder: 1 }])
  t.equal((await app.call('DELETE', `/v1/policies/${p.id}`)).statusCode, 204)
  t.same((await app.call('GET', `/v1/domains/${app.contoso}/policy-links`)).json().links, [])
  t.equal((await app.call('GET', '/v1/computers/00000000-0000-4000-8000-000000000000/effective-policy')).statusCode, 404)
})
