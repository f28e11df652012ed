import t from 'tap'
import type { Page } from 'playwright-core'
import { outsideSql } from '../helper.js'
import { launchBrowser, noBrowser, site } from './browser.js'

const alert = (page: Page) => page.getByRole('alert')
const CODE_FIELD = 'Or type the code they read to you'

/** Types `code` into the redeem page's code field and sends it with Enter, as someone listening on the phone would. */
async function typeCode (page: Page, code: string): Promise<void> {
  const field = page.getByLabel(CODE_FIELD)
  await field.fill(code)
  await field.press('Enter')
}

t.test('C1 short codes: the novice asks with a short code and reads it out; the expert types it in lower case on the redeem page and gets the session',
  { skip: noBrowser }, async (t) => {
    const s = await site(t)
    const browser = await launchBrowser(t)
    const novice = (await s.person(browser)).page
    await s.signInAs(novice, 'CONTOSO\\alice')
    await novice.goto(`${s.base}/ask`)
    await novice.getByLabel('Also give me a short code I can read out (valid 30 minutes)').check()
    await novice.getByRole('button', { name: 'Create the invitation' }).click()
    await novice.getByRole('heading', { name: 'Your invitation is ready' }).waitFor()
    const code = (await novice.locator('#short-code').textContent())!
    t.match(code, /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/, 'in groups of four')
    const [invitation] = (await s.call('GET', '/v1/invitations', undefined, s.alice)).json().items
    t.equal(await novice.locator('#short-code-valid time').getAttribute('datetime'), invitation.shortCodeExpiresAt, 'with the time it stops working')
    t.match(await novice.locator('#short-code-valid').textContent(), /^Valid until /)
    t.equal(Date.parse(invitation.shortCodeExpiresAt) - Date.parse(invitation.createdAt), 30 * 60_000, '30 minutes')

    const expert = (await s.person(browser)).page
    await s.signInAs(expert, 'CONTOSO\\bob')
    await expert.getByRole('link', { name: 'Redeem an invitation' }).first().click()
    await expert.getByLabel(CODE_FIELD).waitFor()
    t.equal(await expert.evaluate('document.activeElement.id'), 'ticket-input', 'the link first, as before')

    // A code misheard is refused in words, with the service's reason; what was typed stays there to correct.
    await typeCode(expert, 'abcd efgh jkmn')
    await alert(expert).locator('h2', { hasText: 'This code is not right' }).waitFor()
    t.match(await alert(expert).textContent(), /Code: no invitation has this code \(check it with the person who read it to you\)\..*Refused: CODE_INVALID/)
    t.equal(await expert.evaluate('document.activeElement.id'), 'code-input', 'the focus is back in the code field')
    t.equal(await expert.getByLabel(CODE_FIELD).inputValue(), 'abcd efgh jkmn', 'with what was typed')
    t.equal(await expert.getByLabel(CODE_FIELD).getAttribute('aria-invalid'), 'true', 'marked invalid')

    // Lower case, spaces for the dashes: as heard.
    await typeCode(expert, code.toLowerCase().replace(/-/g, ' '))
    await expert.getByRole('heading', { name: 'CONTOSO\\alice asked for help' }).waitFor()
    t.equal(await expert.locator('#invitation-computer').textContent(), 'CONTOSO\\PC-10', 'the invitation, as for a link')
    t.equal((await s.call('GET', `/v1/invitations/${invitation.id}`)).json().state, 'open', 'the preview spent nothing')
    await expert.keyboard.press('Enter')
    await expert.waitForURL(/\/sessions\/[0-9a-f-]{36}$/)
    await expert.locator('#session-state', { hasText: 'waiting for the novice' }).waitFor()

    // The novice's page opens the prompt by itself, as for a link.
    await novice.waitForURL(expert.url())
    await novice.getByRole('button', { name: 'Accept' }).click()
    await expert.locator('#session-state', { hasText: 'connected' }).waitFor()
    t.same(s.foreign, [])
  })

t.test('short codes: an expired code and too many wrong codes are said on the redeem page with the service\'s reason', { skip: noBrowser }, async (t) => {
  const s = await site(t, { RA_CODE_GUESSES_PER_EXPERT_PER_HOUR: '2' })
  const browser = await launchBrowser(t)
  const expert = (await s.person(browser)).page
  await s.signInAs(expert, 'CONTOSO\\bob')
  const expireCode = (id: string) =>
    outsideSql(s.config, 'UPDATE invitations SET code_expires_at = ? WHERE id = ?', new Date(Date.now() - 1000).toISOString(), id)

  const stale = await s.invite({ shortCode: true })
  await expireCode(stale.invitation.id)
  await expert.goto(`${s.base}/redeem`)
  await typeCode(expert, stale.shortCode.code)
  await alert(expert).locator('h2', { hasText: 'This code has expired' }).waitFor()
  t.match(await alert(expert).textContent(), /a code lives 30 minutes at most.*Refused: CODE_EXPIRED/)

  // Expired between the preview and Connect: back to the code field, to type a new one.
  const late = await s.invite({ shortCode: true })
  await typeCode(expert, late.shortCode.code)
  await expert.getByRole('button', { name: 'Connect' }).waitFor()
  await expireCode(late.invitation.id)
  await expert.getByRole('button', { name: 'Connect' }).click()
  await alert(expert).locator('h2', { hasText: 'This code has expired' }).waitFor()
  t.equal(await expert.evaluate('document.activeElement.id'), 'code-input', 'the focus in the code field')

  // Two wrong codes use up bob's budget: then even a right one is refused, saying for how long.
  for (const wrong of ['AAAA-AAAA-AAAA', 'too short']) {
    await typeCode(expert, wrong)
    await alert(expert).locator('.code', { hasText: 'Refused: CODE_INVALID' }).waitFor()
  }
  const fresh = await s.invite({ shortCode: true })
  await typeCode(expert, fresh.shortCode.code)
  await alert(expert).locator('h2', { hasText: 'Too many wrong codes' }).waitFor()
  t.match(await alert(expert).textContent(), /Too many wrong codes for this expert this hour: retry in \d+ s, or use the invitation's link or file\./)
  t.equal((await s.call('GET', `/v1/invitations/${fresh.invitation.id}`)).json().state, 'open', 'the invitation is untouched: its link still works')
  t.same(s.foreign, [])
})
