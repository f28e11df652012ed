import t from 'tap'
import { ENTRIES } from '../../src/domain/readiness.js'
import { setPolicy } from '../routes/invitations-helper.js'
import { launchBrowser, noBrowser, site } from './browser.js'

t.test('O1 C1: help offered unasked appears on the novice\'s page at once, and its prompt says they did not ask for it', { skip: noBrowser }, async (t) => {
  const s = await site(t)
  const profile = { programExceptions: [ENTRIES.msra, ENTRIES.raserver], portExceptions: [ENTRIES.port135] }
  const firewall = { domain: profile, private: profile, public: profile }
  await s.call('PATCH', `/v1/computers/${s.pc10}`, { dcomEnabled: 'Y', offerRaHelpers: ['CONTOSO\\bob'], firewall })
  await setPolicy(s, { offerRemoteAssistance: { state: 'enabled', permission: 'control', helpers: ['CONTOSO\\bob'] } })
  const browser = await launchBrowser(t)
  const { page } = await s.person(browser)
  await s.signInAs(page, 'CONTOSO\\alice')

  const offered = await s.call('POST', '/v1/offers', { computer: 'CONTOSO\\PC-10' }, s.bob)
  t.equal(offered.statusCode, 201, offered.body)
  const notice = page.getByRole('heading', { name: 'CONTOSO\\bob offers to help you' })
  await notice.waitFor()
  await page.getByRole('link', { name: 'Answer' }).click()
  const prompt = page.getByRole('region', { name: 'CONTOSO\\bob wants to see your screen' })
  await prompt.waitFor()
  t.match(await prompt.textContent(), /You did not ask for this/, 'unsolicited, said so')
  t.match(await prompt.textContent(), /Asked bythe helper \(an offer\)/)
  await prompt.getByRole('button', { name: 'Decline' }).click()
  await page.getByRole('heading', { name: 'Declined' }).waitFor()
  t.equal((await s.call('GET', `/v1/sessions/${offered.json().id}`)).json().state, 'declined')
})
