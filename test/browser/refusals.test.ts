import t from 'tap'
import type { Page } from 'playwright-core'
import { outsideSql } from '../helper.js'
import { setPolicy } from '../routes/invitations-helper.js'
import { launchBrowser, noBrowser, seriousViolations, site, type Site } from './browser.js'

const alert = (page: Page) => page.getByRole('alert')

/** Opens an invitation link as someone already signed in, and waits for the page to have read it. */
async function open (s: Site, page: Page, ticket: string): Promise<void> {
  await page.goto(`${s.base}/redeem#ticket=${ticket}`)
  await page.locator('#redeem h2').first().waitFor()
}

t.test('S1 S5: refusals are shown in words with the rule that refused: an expired link, five wrong passwords (locked), a replayed link, policy',
  { skip: noBrowser }, async (t) => {
    const s = await site(t)
    const browser = await launchBrowser(t)
    const { page } = await s.person(browser)
    await s.signInAs(page, 'CONTOSO\\bob')

    // The helpdesk's reference is shown before redeeming.
    const referenced = await s.invite({ externalRef: 'INC0012345' })
    await open(s, page, referenced.ticket)
    t.equal(await page.locator('#invitation-ref').textContent(), 'INC0012345')

    const expired = await s.invite()
    await outsideSql(s.config, 'UPDATE invitations SET expires_at = ? WHERE id = ?', new Date(Date.now() - 1000).toISOString(), expired.invitation.id)
    await open(s, page, expired.ticket)
    t.equal(await alert(page).locator('h2').textContent(), 'This invitation has expired')
    t.match(await alert(page).textContent(), /Refused: TICKET_EXPIRED/)
    t.equal(await page.getByRole('button', { name: 'Connect' }).count(), 0, 'nothing to redeem')

    // S1 with a password: each wrong one is said so; the fifth locks the invitation.
    const locked = await s.invite({ password: 'right-horse-7' })
    await open(s, page, locked.ticket)
    const password = page.getByLabel('Invitation password')
    for (let i = 1; i <= 4; i++) {
      await password.fill(`wrong-${i}`)
      await page.getByRole('button', { name: 'Connect' }).click()
      await page.locator('#redeem-status [role=alert]', { hasText: 'PASSWORD_INCORRECT' }).waitFor()
      t.equal(await page.locator('#redeem-status h2').textContent(), 'Wrong password', `try ${i}: wrong password`)
      await page.locator('#redeem-status').evaluate((e) => { e.replaceChildren() })
    }
    await password.fill('wrong-5')
    await page.getByRole('button', { name: 'Connect' }).click()
    await alert(page).locator('h2', { hasText: 'This invitation is locked' }).waitFor()
    t.match(await alert(page).textContent(), /locked and can only be revoked/)
    t.equal((await s.call('GET', `/v1/invitations/${locked.invitation.id}`)).json().state, 'locked')
    await open(s, page, locked.ticket)
    t.equal(await alert(page).locator('h2').textContent(), 'This invitation is locked', 'opening it again says so at once, before any password')

    // A link used once is refused the second time, and the replay is a security event on the session.
    const used = await s.invite()
    await open(s, page, used.ticket)
    await page.getByRole('button', { name: 'Connect' }).click()
    await page.waitForURL(/\/sessions\//)
    await open(s, page, used.ticket)
    t.equal(await alert(page).locator('h2').textContent(), 'This invitation was already used')
    const sessionId = (await s.call('GET', `/v1/invitations/${used.invitation.id}`)).json().sessionId
    t.match((await s.call('GET', `/v1/sessions/${sessionId}`)).json().securityEvents, [{ kind: 'ticket-reused' }])

    // Policy refusals name their rules and remedies.
    await setPolicy(s, { solicitedRemoteAssistance: { state: 'enabled' } })
    const denied = await s.invite()
    await setPolicy(s, { solicitedRemoteAssistance: { state: 'disabled' } })
    await open(s, page, denied.ticket)
    await page.getByRole('button', { name: 'Connect' }).click()
    await alert(page).locator('h2', { hasText: 'Policy does not allow this' }).waitFor()
    t.match(await alert(page).locator('.checks').textContent(), /S5/, 'the rule that refused')
    t.same(s.foreign, [])
  })

t.test('C3 O9: policy switched to view-only during the session drops control on both pages at once, with the reason', { skip: noBrowser }, async (t) => {
  const s = await site(t)
  const policy = await setPolicy(s, { solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'control' } })
  const browser = await launchBrowser(t)
  const novice = (await s.person(browser)).page
  const expert = (await s.person(browser)).page
  await s.signInAs(novice, 'CONTOSO\\alice')
  await s.signInAs(expert, 'CONTOSO\\bob')
  const { ticket } = await s.invite()
  await open(s, expert, ticket)
  await expert.getByRole('button', { name: 'Connect' }).click()
  await expert.waitForURL(/\/sessions\//)
  await novice.goto(new URL(expert.url()).pathname)
  await novice.getByRole('button', { name: 'Accept' }).click()
  await expert.getByRole('button', { name: 'Request control' }).click()
  await novice.getByRole('button', { name: 'Grant control' }).click()
  await novice.getByRole('button', { name: 'Stop control (Esc)' }).waitFor()

  await s.call('PATCH', `/v1/policies/${policy}`, { settings: { solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'view' } } })
  for (const page of [novice, expert]) {
    const line = page.locator('#log li', { hasText: 'Control was taken away' })
    await line.waitFor()
    t.match(await line.textContent(), /policy no longer permits remote control/, 'the reason')
    t.match(await line.textContent(), /S2/, 'and the rule')
    await page.locator('#session-state', { hasText: 'connected' }).waitFor()
  }
  t.equal(await novice.getByRole('button', { name: 'Stop control (Esc)' }).count(), 0)
  await expert.getByRole('button', { name: 'Request control' }).click()
  await alert(expert).locator('h2', { hasText: 'Policy does not allow control' }).waitFor()
  t.match(await alert(expert).textContent(), /S2/, 'asking again is refused, naming the rule')

  // Disabling Solicited RA ends the session on both pages.
  await s.call('PATCH', `/v1/policies/${policy}`, { settings: { solicitedRemoteAssistance: { state: 'disabled' } } })
  for (const page of [novice, expert]) {
    await page.getByRole('heading', { name: 'The session has ended' }).waitFor()
    t.match(await page.locator('#end-reason').textContent(), /Policy no longer allows this session/)
  }
})

t.test('every page in its main states has no serious axe-core violation, and is used with the keyboard alone', { skip: noBrowser }, async (t) => {
  const s = await site(t)
  await setPolicy(s, {
    solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'control' },
    customMessages: { state: 'enabled', viewMessage: 'Only helpdesk staff may connect.', shareControlMessage: 'You are about to share control.' }
  })
  const browser = await launchBrowser(t)
  const novice = (await s.person(browser)).page
  const expert = (await s.person(browser)).page
  const admin = (await s.person(browser)).page
  const check = async (page: Page, what: string) => t.same(await seriousViolations(page), [], `${what}: no serious violations`)

  await novice.goto(`${s.base}/sign-in`)
  await check(novice, 'sign-in')
  // The administrator signs in with the keyboard only: Tab to the token field, type, Enter.
  await admin.goto(`${s.base}/sign-in`)
  await admin.keyboard.type('test-admin-token-0123456789abcdefghijklmnop')
  await admin.keyboard.press('Enter')
  await admin.waitForURL(`${s.base}/`)
  await check(admin, 'home (administrator)')
  await admin.goto(`${s.base}/admin/computers`)
  await check(admin, 'computers')
  await admin.goto(`${s.base}/admin/computers/${s.pc10}?expert=CONTOSO%5Cbob`)
  await admin.getByRole('heading', { name: 'Effective policy' }).waitFor()
  await check(admin, 'a computer: policy, offer check, readiness')
  // The check can fail: an input without a label is a serious violation.
  await admin.evaluate('document.querySelector("main").append(document.createElement("input"))')
  t.match(await seriousViolations(admin), [/^label: /], 'axe finds an unlabelled control')

  await s.signInAs(novice, 'CONTOSO\\alice')
  await check(novice, 'home')
  await novice.goto(`${s.base}/ask`)
  await check(novice, 'ask for help')
  // Keyboard only: from the computer list, Tab through to the short-code option, tick it with Space, on to the button and press Enter.
  await novice.getByLabel('Computer you are at').focus()
  for (let i = 0; i < 5; i++) await novice.keyboard.press('Tab')
  t.equal(await novice.evaluate('document.activeElement.id'), 'short-code-option', 'Tab order: computer, lifetime, unit, password, helper, short code…')
  await novice.keyboard.press('Space')
  await novice.keyboard.press('Tab')
  t.equal(await novice.evaluate('document.activeElement.id'), 'create', '…create')
  await novice.keyboard.press('Enter')
  await novice.getByRole('heading', { name: 'Your invitation is ready' }).waitFor()
  t.match(await novice.locator('#short-code').textContent(), /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/, 'the code asked for with the keyboard')
  await check(novice, 'invitation ready, with its short code')

  const { ticket } = await s.invite()
  await s.signInAs(expert, 'CONTOSO\\bob')
  await expert.goto(`${s.base}/redeem`)
  await expert.getByLabel('Or type the code they read to you').waitFor()
  await check(expert, 'redeem without a link: paste it or type a code')
  await open(s, expert, ticket)
  await check(expert, 'redeem')
  await expert.keyboard.press('Enter')
  await expert.waitForURL(/\/sessions\//)
  await check(expert, 'session, waiting for the novice')
  const code = await expert.locator('#read-code strong').textContent()
  await novice.goto(new URL(expert.url()).pathname)
  await novice.getByRole('button', { name: 'Accept' }).waitFor()
  await check(novice, 'consent prompt')
  // Keyboard only: the prompt takes the focus in the code field; Tab goes through the prompt, then to End session and the report.
  t.equal(await novice.evaluate('document.activeElement.id'), 'verification-code', 'the consent prompt takes the focus, in the code field')
  const tabOrder: string[] = []
  for (let i = 0; i < 5; i++) {
    await novice.keyboard.press('Tab')
    tabOrder.push(await novice.evaluate('document.activeElement.id'))
  }
  t.same(tabOrder, ['show-my-code', 'accept', 'decline', 'end-session', 'report-open'], 'Tab order: code, show my code, Accept, Decline, End, report')
  for (let i = 0; i < 4; i++) await novice.keyboard.press('Shift+Tab')
  await novice.keyboard.press('Enter')
  t.equal(await novice.locator('#show-my-code').getAttribute('aria-expanded'), 'true', 'Show my code, from the keyboard')
  t.equal(await novice.evaluate('document.activeElement.id'), 'show-my-code', 'the focus stays on the button')
  await check(novice, 'consent prompt, with the novice\'s own code shown')
  await novice.keyboard.press('Shift+Tab')
  t.equal(await novice.evaluate('document.activeElement.id'), 'verification-code', 'back in the code field')
  await novice.keyboard.type(code!)
  await novice.keyboard.press('Enter')
  await expert.getByRole('button', { name: 'Request control' }).waitFor()
  await check(expert, 'session, active')
  await expert.getByRole('button', { name: 'Request control' }).focus()
  await expert.keyboard.press('Enter')
  await novice.getByRole('button', { name: 'Grant control' }).waitFor()
  await check(novice, 'control prompt')
  t.equal(await novice.evaluate('document.activeElement.id'), 'grant', 'the control prompt takes the focus')
  // How long: just before Grant, chosen with the arrow keys.
  await novice.keyboard.press('Shift+Tab')
  t.equal(await novice.evaluate('document.activeElement.id'), 'control-minutes', 'Shift+Tab: For how long')
  await novice.keyboard.press('ArrowDown')
  t.equal(await novice.getByLabel('For how long').inputValue(), '60', 'an hour, from the keyboard')
  await novice.keyboard.press('Tab')
  t.equal(await novice.evaluate('document.activeElement.id'), 'grant', 'Tab: Grant control')
  await novice.keyboard.press('Enter')
  await novice.getByRole('button', { name: 'Stop control (Esc)' }).waitFor()
  await novice.locator('#control-until').waitFor()
  await check(novice, 'in control, with Stop control')
  await check(expert, 'in control, the expert with Ask for more time')
  t.equal(await novice.evaluate('document.activeElement.id'), 'stop-control', 'Stop control has the focus')
  await novice.keyboard.press('Tab')
  t.equal(await novice.evaluate('document.activeElement.id'), 'give-more-time', 'Tab: Give more time, after Stop control')
  await novice.keyboard.press('Escape')
  await novice.locator('#session-state', { hasText: 'connected' }).waitFor()
  await novice.getByRole('button', { name: 'End session' }).focus()
  await novice.keyboard.press('Enter')
  await novice.getByRole('heading', { name: 'The session has ended' }).waitFor()
  await check(novice, 'ended')
  t.same(s.foreign, [])
})
