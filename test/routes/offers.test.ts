import t, { type Test } from 'tap'
import { ENTRIES } from '../../src/domain/readiness.js'
import { build, type Json, type TestApp } from '../helper.js'
import { WIN10_FIREWALL } from './helpdesk-helper.js'

const XP_FIREWALL = {
  domain: { programExceptions: [ENTRIES.sessmgr, ENTRIES.helpsvc, ENTRIES.helpctr], portExceptions: [ENTRIES.port135] },
  standard: { programExceptions: [ENTRIES.sessmgr, ENTRIES.helpsvc, ENTRIES.helpctr], portExceptions: [ENTRIES.port135] }
}

interface OfferWorld extends TestApp {
  tokens: Record<string, string>
  computers: Record<string, string>
  offer: (expert: string, computer: string, body?: Json) => ReturnType<TestApp['call']>
  check: (expert: string, computer: string) => Promise<Json>
}

/** CONTOSO trusts FABRIKAM; bob is a helper through two levels of nested groups. */
async function setup (t: Test, env: Record<string, string> = {}): Promise<OfferWorld> {
  const app = await build(t, env)
  const res = await app.call('POST', '/v1/directory/import', {
    domains: [{ name: 'CONTOSO', trusts: ['FABRIKAM'] }, { name: 'FABRIKAM' }, { name: 'LITWARE', trusts: ['CONTOSO'] }],
    users: [
      { name: 'CONTOSO\\alice' },
      { name: 'CONTOSO\\bob', displayName: 'Bob Expert' },
      { name: 'CONTOSO\\carol' },
      { name: 'FABRIKAM\\dave' },
      { name: 'LITWARE\\erin' }
    ],
    groups: [
      { name: 'CONTOSO\\Helpdesk', members: ['CONTOSO\\Tier1'] },
      { name: 'CONTOSO\\Tier1', members: ['CONTOSO\\Tier2'] },
      { name: 'CONTOSO\\Tier2', members: ['CONTOSO\\bob', 'FABRIKAM\\dave', 'LITWARE\\erin'] }
    ],
    computers: [
      {
        name: 'CONTOSO\\PC-XP',
        platform: 'xp-pro-sp2',
        dcomEnabled: 'Y',
        users: ['CONTOSO\\alice'],
        localAdministrators: ['CONTOSO\\Helpdesk'],
        firewall: XP_FIREWALL
      },
      {
        name: 'CONTOSO\\PC-10',
        platform: 'windows-10',
        dcomEnabled: 'Y',
        users: ['CONTOSO\\alice'],
        offerRaHelpers: ['CONTOSO\\Helpdesk'],
        firewall: WIN10_FIREWALL
      },
      { name: 'CONTOSO\\PC-BARE', platform: 'xp-pro', users: ['CONTOSO\\alice'] }
    ]
  })
  t.equal(res.statusCode, 200, res.body)
  const policy = (await app.call('POST', '/v1/policies', {
    name: 'Offer RA',
    settings: { offerRemoteAssistance: { state: 'enabled', permission: 'view', helpers: ['CONTOSO\\Helpdesk'] } }
  })).json().policy
  const domains = (await app.call('GET', '/v1/domains')).json().items
  await app.call('PUT', `/v1/domains/${domains.find((d: Json) => d.name === 'CONTOSO').id}/policy-links`, { policies: [policy.id] })
  const tokens: Record<string, string> = {}
  for (const u of ['CONTOSO\\alice', 'CONTOSO\\bob', 'CONTOSO\\carol', 'FABRIKAM\\dave', 'LITWARE\\erin']) {
    tokens[u] = (await app.call('POST', '/v1/tokens', { principal: { type: 'user', user: u } })).json().token
  }
  const computers = Object.fromEntries((await app.call('GET', '/v1/computers')).json().items.map((c: Json) => [c.name, c.id]))
  return {
    ...app,
    tokens,
    computers,
    offer: (expert, computer, body = {}) => app.call('POST', '/v1/offers', { computer, ...body }, tokens[expert]),
    check: async (expert, computer) => (await app.call('GET', `/v1/computers/${computers[computer]}/offer-check?expert=${encodeURIComponent(expert)}`)).json()
  }
}

t.test('O2 through two levels of nested groups; O3 caps the session; C1: the novice must still accept', async (t) => {
  const w = await setup(t)
  const res = await w.offer('CONTOSO\\bob', 'CONTOSO\\PC-10')
  t.equal(res.statusCode, 201, res.body)
  const session = res.json()
  t.match(session, { origin: 'offer', invitationId: null, state: 'awaiting-novice', mode: 'none', permittedMode: 'view', novice: { name: 'CONTOSO\\alice' } })
  t.same(session.consent.expert, { name: 'CONTOSO\\bob', displayName: 'Bob Expert' })
  t.equal(session.consent.solicited, false, 'the novice is told it is unsolicited')
  t.same(session, (await w.call('GET', `/v1/sessions/${session.id}`, undefined, w.tokens['CONTOSO\\bob'])).json(),
    'answered from what was written: the session as stored')
  t.match((await w.check('CONTOSO\\bob', 'CONTOSO\\PC-10')).checks.find((c: Json) => c.rule === 'O2'), { passed: true, detail: /through CONTOSO\\Helpdesk/ })
  t.match(
    (await w.call('POST', `/v1/sessions/${session.id}/control-requests`, undefined, w.tokens['CONTOSO\\bob'])).json(),
    { code: 'SESSION_NOT_ACTIVE' },
    'nothing before acceptance'
  )
  await w.call('POST', `/v1/sessions/${session.id}/accept`, { confirm: true }, w.tokens['CONTOSO\\alice'])
  const control = (await w.call('POST', `/v1/sessions/${session.id}/control-requests`, undefined, w.tokens['CONTOSO\\bob'])).json()
  t.match(control, { statusCode: 403, code: 'CONTROL_NOT_PERMITTED', checks: [{ rule: 'O3', passed: false }] }, 'O3: view only')
})

t.test('a refused offer lists every failing check with a remedy, creates nothing, and offer-check always agrees', async (t) => {
  const w = await setup(t)
  const refused = await w.offer('CONTOSO\\carol', 'CONTOSO\\PC-BARE')
  t.equal(refused.statusCode, 403)
  const body = refused.json()
  t.equal(body.code, 'POLICY_DENIED')
  const failed = body.checks.filter((c: Json) => !c.passed)
  t.same([...new Set(failed.map((c: Json) => c.rule))].sort(), ['F4', 'O2', 'O5', 'O8'].sort(), 'all failures, not just the first')
  t.ok(failed.every((c: Json) => typeof c.remedy === 'string' && c.remedy.length > 0))
  t.same((await w.call('GET', '/v1/sessions')).json().items, [], 'nothing created')

  for (const expert of ['CONTOSO\\bob', 'CONTOSO\\carol', 'FABRIKAM\\dave', 'LITWARE\\erin']) {
    for (const computer of ['CONTOSO\\PC-XP', 'CONTOSO\\PC-10', 'CONTOSO\\PC-BARE']) {
      const check = await w.check(expert, computer)
      const made = await w.offer(expert, computer)
      t.equal(made.statusCode === 201, check.allowed, `${expert} → ${computer}: POST and offer-check agree (${made.statusCode})`)
      if (made.statusCode === 403) t.same(made.json().checks, check.checks, 'the same checks')
      if (made.statusCode === 201) await w.call('POST', `/v1/sessions/${made.json().id}/end`, undefined, w.tokens[expert])
    }
  }
})

t.test('O4 over HTTP: same domain, trusted (CONTOSO trusts FABRIKAM), and trust in the wrong direction (LITWARE trusts CONTOSO)', async (t) => {
  const w = await setup(t)
  t.match((await w.check('FABRIKAM\\dave', 'CONTOSO\\PC-XP')).checks.find((c: Json) => c.rule === 'O4'), { passed: true, detail: 'CONTOSO trusts FABRIKAM' })
  const erin = await w.check('LITWARE\\erin', 'CONTOSO\\PC-XP')
  t.equal(erin.allowed, false)
  t.same(erin.checks.filter((c: Json) => !c.passed).map((c: Json) => c.rule), ['O4'], 'only O4 fails')
})

t.test('unknown experts and computers are refusals, not errors; offers are audited with their rule ids', async (t) => {
  const w = await setup(t)
  t.match(await w.check('CONTOSO\\nobody', 'CONTOSO\\PC-XP'), { allowed: false, checks: [{ rule: 'O1', passed: true }, { rule: 'S7' }, { rule: 'O2', passed: false, detail: /not a user/ }] })
  t.match(await w.check('not even a name', 'CONTOSO\\PC-XP'), { statusCode: 400, code: 'VALIDATION_FAILED', field: 'expert' })
  t.match((await w.offer('CONTOSO\\bob', 'CONTOSO\\PC-GONE')).json(), { statusCode: 403, code: 'POLICY_DENIED', checks: [{ passed: false, detail: /not in the directory/ }] })
  t.equal((await w.call('GET', '/v1/computers/00000000-0000-4000-8000-000000000000/offer-check?expert=CONTOSO%5Cbob')).statusCode, 404)
  await w.offer('CONTOSO\\bob', 'CONTOSO\\PC-XP')
  await w.offer('CONTOSO\\carol', 'CONTOSO\\PC-XP')
  const created = (await w.call('GET', '/v1/audit-events?action=offer.create')).json().items
  t.match(created[0].details, {
    computer: 'CONTOSO\\PC-XP',
    permission: 'view',
    rules: ['O1', 'S7', 'O2', 'O3', 'O4', 'O5', 'O6', 'O8', 'F4', 'F4', 'F4', 'F4', 'F4', 'F4', 'F4', 'F4']
  })
  const refused = (await w.call('GET', '/v1/audit-events?action=offer.refused')).json().items
  t.match(refused[0], { actor: 'CONTOSO\\carol', outcome: 'denied', details: { code: 'POLICY_DENIED', rules: ['O2'] } })
  t.match((await w.call('POST', '/v1/offers', { computer: 'CONTOSO\\PC-XP' })).json(), { statusCode: 403, code: 'EXPERT_REQUIRED' })
})

t.test('offers are rate-limited: a few pending per computer, a budget per expert per hour (429 with Retry-After)', async (t) => {
  const w = await setup(t, { RA_OFFER_MAX_PENDING_PER_COMPUTER: '2', RA_OFFER_MAX_PER_EXPERT_PER_HOUR: '3' })
  t.equal((await w.offer('CONTOSO\\bob', 'CONTOSO\\PC-XP')).statusCode, 201)
  t.equal((await w.offer('CONTOSO\\bob', 'CONTOSO\\PC-XP')).statusCode, 201)
  const third = await w.offer('FABRIKAM\\dave', 'CONTOSO\\PC-XP')
  t.equal(third.statusCode, 429)
  t.equal(third.json().code, 'OFFER_RATE_LIMITED')
  const retry = Number(third.headers['retry-after'])
  t.ok(retry >= 1 && retry <= 120, `Retry-After within the accept timeout (${retry})`)
  t.equal((await w.offer('CONTOSO\\bob', 'CONTOSO\\PC-10')).statusCode, 201, 'another computer is fine')
  const budget = await w.offer('CONTOSO\\bob', 'CONTOSO\\PC-10')
  t.equal(budget.statusCode, 429, 'the expert\'s hourly budget is spent')
  t.ok(Number(budget.headers['retry-after']) > 3000, 'retry in about an hour')
})

t.test('readiness reports each prerequisite with the seed\'s exact entry as remedy', async (t) => {
  const w = await setup(t)
  const bare = (await w.call('GET', `/v1/computers/${w.computers['CONTOSO\\PC-BARE']}/readiness`)).json()
  t.match(bare, { computer: { name: 'CONTOSO\\PC-BARE', platform: 'xp-pro' }, ready: false })
  const remedies = bare.checks.filter((c: Json) => !c.passed).map((c: Json) => c.remedy)
  t.ok(remedies.includes('Set the string value EnableDCOM = Y under HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Ole'))
  t.ok(remedies.includes('In Windows Firewall: Domain Profile, add to "Define port exceptions": 135:TCP:*:Enabled:Offer Remote Assistance'))
  t.ok(remedies.includes('In Windows Firewall: Standard Profile, add to "Define program exceptions": ' +
    '%WINDIR%\\PCHealth\\HelpCtr\\Binaries\\Helpctr.exe:*:Enabled:Remote Assistance – Windows Messenger and Voice'))
  t.match((await w.call('GET', `/v1/computers/${w.computers['CONTOSO\\PC-10']}/readiness`)).json(), { ready: true, warnings: [] })
  t.equal(
    (await w.call('GET', `/v1/computers/${w.computers['CONTOSO\\PC-10']}/readiness`, undefined, w.tokens['CONTOSO\\alice'])).statusCode,
    403,
    'for administrators'
  )
})

t.test('O2 and O4 are decided before the flood limits: a refused expert gets 403 with its checks, ' +
  'never 429, and learns nothing of the offers waiting', async (t) => {
  const w = await setup(t, { RA_OFFER_MAX_PENDING_PER_COMPUTER: '3', RA_OFFER_MAX_PER_EXPERT_PER_HOUR: '100' })
  for (let i = 0; i < 3; i++) t.equal((await w.offer('CONTOSO\\bob', 'CONTOSO\\PC-XP')).statusCode, 201)
  t.equal((await w.offer('FABRIKAM\\dave', 'CONTOSO\\PC-XP')).statusCode, 429, 'an allowed expert is stopped by the limit')

  // LITWARE is not trusted by CONTOSO (O4); carol is not a helper (O2).
  for (const [expert, rule] of [['LITWARE\\erin', 'O4'], ['CONTOSO\\carol', 'O2']] as const) {
    const refused = await w.offer(expert, 'CONTOSO\\PC-XP')
    t.equal(refused.statusCode, 403, `${expert}: 403, not 429`)
    t.match(refused.json(), { code: 'POLICY_DENIED', checks: [{ rule: 'O1', passed: true }] })
    t.ok(refused.json().checks.some((c: Json) => c.rule === rule && c.passed === false), `${expert}: ${rule} failed`)
    t.notMatch(refused.body, /waiting|already has|OFFER_RATE_LIMITED/, 'nothing about the offers waiting there')
    t.equal((await w.check(expert, 'CONTOSO\\PC-XP')).allowed, false, 'offer-check agrees')
  }
  t.equal((await w.check('FABRIKAM\\dave', 'CONTOSO\\PC-XP')).allowed, true, 'offer-check agrees for the allowed one')
})

t.test('O6: computer names are checked at the edge: an empty domain part is 400 naming the field, not a 500', async (t) => {
  const w = await setup(t)
  for (const bad of ['\\PC-XP', 'CONTOSO\\', '\\', 'CONTOSO\\PC\\XP', 'PC-XP', 'CONTOSO\\PC XP']) {
    const a = await w.offer('CONTOSO\\bob', bad)
    t.match(a.json(), { statusCode: 400, code: 'VALIDATION_FAILED', field: 'computer' }, `computer ${JSON.stringify(bad)}`)
    const b = await w.offer('CONTOSO\\bob', 'CONTOSO\\PC-XP', { expertComputer: bad })
    t.match(b.json(), { statusCode: 400, code: 'VALIDATION_FAILED', field: 'expertComputer' }, `expertComputer ${JSON.stringify(bad)}`)
    const c = await w.call('GET', `/v1/computers/${w.computers['CONTOSO\\PC-XP']}/offer-check?expert=CONTOSO%5Cbob&expertComputer=${encodeURIComponent(bad)}`)
    t.match(c.json(), { statusCode: 400, field: 'expertComputer' })
  }
  t.match(await w.check('\\bob', 'CONTOSO\\PC-XP'), { statusCode: 400, code: 'VALIDATION_FAILED', field: 'expert' })
  t.equal((await w.offer('CONTOSO\\bob', w.computers['CONTOSO\\PC-XP']!)).statusCode, 201, 'an id still names a computer')
})

t.test('O1: an offer carries the helpdesk\'s externalRef to its session, its audit event and the session filter', async (t) => {
  const w = await setup(t)
  const res = await w.offer('CONTOSO\\bob', 'CONTOSO\\PC-10', { externalRef: 'INC0077777' })
  t.equal(res.statusCode, 201, res.body)
  t.equal(res.json().externalRef, 'INC0077777')
  t.same((await w.call('GET', '/v1/sessions?externalRef=INC0077777')).json().items.map((s: Json) => s.id), [res.json().id])
  const created = (await w.call('GET', '/v1/audit-events?action=offer.create')).json().items[0]
  t.equal(created.details.externalRef, 'INC0077777')
  t.equal((await w.offer('CONTOSO\\bob', 'CONTOSO\\PC-10', { externalRef: 'x'.repeat(129) })).json().field, 'externalRef')
})
