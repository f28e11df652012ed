import { once } from 'node:events'
import t from 'tap'
import type { Page } from 'playwright-core'
import { smtpServer } from '../smtp-helper.js'
import { setPolicy } from '../routes/invitations-helper.js'
import { launchBrowser, noBrowser, site } from './browser.js'
import type { Json } from '../helper.js'

const FAST = { RA_DELIVERY_RETRY_BASE_MS: '20', RA_DELIVERY_POLL_MS: '50', RA_SMTP_TIMEOUT_MS: '2000' }

/** The state badge of a session page, once it reads `text`. */
const stateIs = (page: Page, text: string) => page.locator('#session-state', { hasText: text }).waitFor()

t.test('C1 C2 C3 C4 C5 S1 S3 S4: the whole mission, clicked through in Chromium: ask, e-mail, open the link, sign in, redeem with the password, ' +
  'accept with the code, grant control for a time, stop it; both sides see each step live', { skip: noBrowser }, async (t) => {
  const smtp = await smtpServer(t)
  await smtp.start()
  const s = await site(t, { ...FAST, RA_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, RA_SMTP_FROM: 'Remote Assistance <ra@contoso.com>' })
  const users = (await s.call('GET', '/v1/users?limit=50')).json().items as Json[]
  const bob = users.find((u) => u.name === 'CONTOSO\\bob')
  const alice = users.find((u) => u.name === 'CONTOSO\\alice')
  await s.call('PATCH', `/v1/users/${bob.id}`, { displayName: 'Bob Expert' })
  await s.call('PATCH', `/v1/users/${alice.id}`, { displayName: 'Alice Novice' })
  await setPolicy(s, {
    solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'control', maxTicketTime: { value: 2, unit: 'hours' }, emailMethod: 'mailto' },
    customMessages: { state: 'enabled', viewMessage: 'Only helpdesk staff may connect.', shareControlMessage: 'You are about to share control.' }
  })
  const browser = await launchBrowser(t)

  // 1. The novice asks for help with a password and e-mails the invitation.
  const novice = (await s.person(browser)).page
  await s.signInAs(novice, 'CONTOSO\\alice')
  await novice.getByRole('link', { name: 'Ask for help' }).first().click()
  await novice.waitForURL(`${s.base}/ask`)
  t.equal(await novice.getByLabel('Computer you are at').inputValue(), s.pc10, 'the computers alice sits at are offered, by name')
  // S4: Mailto applies to XP; Vista and later send the invitation file (SMAPI).
  await novice.getByLabel('Computer you are at').selectOption({ label: 'CONTOSO\\PC-XP' })
  t.equal(await novice.getByLabel('Lifetime').inputValue(), '2', 'S3: the lifetime defaults to the maximum ticket time…')
  t.equal(await novice.getByLabel('Unit').inputValue(), 'hours')
  t.match(await novice.locator('#lifetime-help').textContent(), /At most 2 hours: the maximum ticket time, from policy "P-/, '…shown with its source')
  await novice.getByLabel('Password (optional)').fill('blue-42-horse')
  // BOUND_HELPER: only bob may open it.
  await novice.getByLabel('Only this helper may open it (optional)').fill('contoso\\bob')
  await novice.getByRole('button', { name: 'Create the invitation' }).click()
  // (The page makes invitations without a helpdesk reference; the expert's page shows one when there is: see refusals.test.ts.)
  await novice.getByRole('heading', { name: 'Your invitation is ready' }).waitFor()
  await novice.getByLabel('Helper\'s e-mail address(es)').fill('bob@contoso.com')
  await novice.getByLabel('Personal message (optional)').fill('My printer is stuck, thanks!')
  const mailed = once(smtp.events, 'message')
  await novice.getByRole('button', { name: 'Send the invitation' }).click()

  // 2. The link, taken out of the message the mail server received.
  await mailed
  const message = smtp.received[0]!
  t.same(message.to, ['bob@contoso.com'])
  const link = /(http:\/\/127\.0\.0\.1:\d+\/redeem#ticket=[\w.-]+)/.exec(message.parsed.text ?? '')?.[1]
  t.ok(link, 'S4: the Mailto message links to the redemption page')
  t.match(message.parsed.text, /My printer is stuck, thanks!/)
  await novice.locator('#send-status', { hasText: 'bob@contoso.com: sent' }).waitFor()

  // 3. The expert opens it, signs in, types the password and redeems.
  const expert = (await s.person(browser)).page
  await expert.goto(link!)
  await expert.waitForURL(/\/sign-in\?return=%2Fredeem$/)
  t.notOk(expert.url().includes('#'), 'the ticket left the address bar before sign-in (it never goes to an identity provider)')
  const { url: signInLink } = await s.app.services.signIn.createLink('CONTOSO\\bob', { actor: 'cli', actorTokenId: null, requestId: null })
  await expert.goto(signInLink)
  await expert.getByRole('button', { name: 'Sign in' }).click()
  await expert.waitForURL(`${s.base}/`)
  await expert.goto('/redeem')
  await expert.getByRole('heading', { name: 'Alice Novice (CONTOSO\\alice) asked for help' }).waitFor()
  t.equal(await expert.locator('#invitation-computer').textContent(), 'CONTOSO\\PC-XP')
  await expert.getByLabel('Invitation password').fill('blue-42-horse')
  await expert.getByRole('button', { name: 'Connect' }).click()
  await expert.waitForURL(/\/sessions\/[0-9a-f-]{36}$/)
  await stateIs(expert, 'waiting for the novice')
  // Compare the code: the expert reads out the code their page shows.
  const readOut = await expert.locator('#read-code strong').textContent()
  t.match(readOut, /^[0-9]{3} [0-9]{3}$/, 'the expert is shown the code to read out')

  // 4. The novice's page opens the prompt by itself; it names the expert and shows the policy's message.
  await novice.waitForURL(/\/sessions\/[0-9a-f-]{36}$/)
  const prompt = novice.getByRole('region', { name: 'Bob Expert (CONTOSO\\bob) wants to see your screen' })
  await prompt.waitFor()
  t.match(await prompt.textContent(), /Only helpdesk staff may connect\./, 'C1: the message before connecting')
  t.match(await prompt.textContent(), /You asked for help/, 'solicited')
  t.equal(await prompt.locator('#consent-bound').textContent(), 'CONTOSO\\bob: this is the helper you named', 'BOUND_HELPER: the expert is the one named')
  t.match(await prompt.locator('[role=timer]').textContent(), /^[0-2]:\d\d$/, 'the time left to answer')
  t.equal(await novice.evaluate('document.activeElement?.id'), 'verification-code', 'the prompt takes the focus, in the field for the code')
  await novice.keyboard.type(readOut!)
  await prompt.getByRole('button', { name: 'Accept' }).click()
  await stateIs(novice, 'connected')
  await stateIs(expert, 'connected')

  // 5. The expert requests control; the novice grants it, then stops it with one keystroke.
  await expert.getByRole('button', { name: 'Request control' }).click()
  const controlPrompt = novice.getByRole('region', { name: 'Bob Expert (CONTOSO\\bob) asks to control your computer' })
  await controlPrompt.waitFor()
  t.match(await controlPrompt.textContent(), /You are about to share control\./, 'C4: the message before sharing control')
  await stateIs(expert, 'control requested')
  await controlPrompt.getByLabel('For how long').selectOption({ label: '2 hours' })
  await controlPrompt.getByRole('button', { name: 'Grant control' }).click()
  await stateIs(novice, 'in control')
  await stateIs(expert, 'in control')
  // Control that runs out: both see until when, to the minute (the pages run in UTC).
  const sessionId = new URL(novice.url()).pathname.split('/').pop()
  const until = (await s.call('GET', `/v1/sessions/${sessionId}`)).json().control.until as string
  t.ok(Date.parse(until) - Date.now() > 119 * 60_000, 'for the two hours chosen')
  for (const page of [novice, expert]) await page.locator('#control-until', { hasText: `Control until ${until.slice(11, 16)}` }).waitFor()
  const stop = novice.getByRole('button', { name: 'Stop control (Esc)' })
  t.ok(await stop.isVisible(), 'C5: Stop control is visible while the expert is in control')
  t.equal(await novice.evaluate('document.activeElement?.id'), 'stop-control', 'and has the focus')
  await novice.keyboard.press('Escape')
  await stateIs(novice, 'connected')
  await stateIs(expert, 'connected')
  t.equal(await stop.count(), 0, 'Stop control is gone once control is')

  // 6. Both saw each step live, in order.
  const steps = ['redeemed the invitation', 'accepted', 'asked for control', 'granted control for 120 minutes', 'stopped control']
  for (const page of [novice, expert]) {
    await page.locator('#log li', { hasText: 'stopped control' }).waitFor()
    const log = (await page.locator('#log li').allTextContents()).join('\n')
    let at = -1
    for (const step of steps) {
      const i = log.indexOf(step, at + 1)
      t.ok(i > at, `${page === novice ? 'novice' : 'expert'} saw "${step}" in order`)
      at = i
    }
  }
  // Either side ends it.
  await expert.getByRole('button', { name: 'End session' }).click()
  await novice.getByRole('heading', { name: 'The session has ended' }).waitFor()
  t.same(s.foreign, [], 'no request left the service (no CDN, nothing external)')
})
