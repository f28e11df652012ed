import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import { setPolicy } from '../routes/invitations-helper.js'
import type { Json } from '../helper.js'
import { launchBrowser, noBrowser, seriousViolations, site, type Site } from './browser.js'

// Issue 19's safeguards on the live session page, for both parties: compare the code, control that runs out, and
// "This isn't who I expected".

const alert = (page: Page) => page.getByRole('alert')
const stateIs = (page: Page, text: string) => page.locator('#session-state', { hasText: text }).waitFor()
const focused = (page: Page) => page.evaluate('document.activeElement?.id')
const spaced = (code: string) => `${code.slice(0, 3)} ${code.slice(3)}`
/** The pages run in UTC with en-GB: a time of day reads `14:05`. */
const hm = (iso: string) => iso.slice(11, 16)

/** The novice (alice) and an expert, each signed in on a page of their own. */
async function parties (t: Test, s: Site, expertName = 'CONTOSO\\bob') {
  const browser = await launchBrowser(t)
  const novice = (await s.person(browser)).page
  const expert = (await s.person(browser)).page
  await s.signInAs(novice, 'CONTOSO\\alice')
  await s.signInAs(expert, expertName)
  return { novice, expert }
}

/** A new invitation of alice's, redeemed on the expert's page; the novice opens the session. Returns its id. */
async function connect (s: Site, novice: Page, expert: Page): Promise<string> {
  const { ticket } = await s.invite()
  await expert.goto(`${s.base}/redeem#ticket=${ticket}`)
  await expert.getByRole('button', { name: 'Connect' }).click()
  await expert.waitForURL(/\/sessions\/[0-9a-f-]{36}$/)
  await stateIs(expert, 'waiting for the novice')
  const path = new URL(expert.url()).pathname
  await novice.goto(path)
  await novice.getByRole('button', { name: 'Accept' }).waitFor()
  return path.split('/').pop()!
}

t.test('C1 compare the code: the expert reads it out from their page; a wrong code is refused, the focus kept in the field; the right one ' +
  'connects; a code policy requires cannot be left out', { skip: noBrowser }, async (t) => {
  const s = await site(t)
  const { novice, expert } = await parties(t, s)
  const id = await connect(s, novice, expert)
  const view = async (): Promise<Json> => (await s.call('GET', `/v1/sessions/${id}`, undefined, s.alice)).json()
  const { code } = (await view()).verification

  t.equal(await expert.locator('#read-code').textContent(), `Read this code to CONTOSO\\alice: ${spaced(code)}`, 'the expert is shown the code to read out')
  const prompt = novice.getByRole('region', { name: 'CONTOSO\\bob wants to see your screen' })
  const field = novice.getByLabel('Code your helper reads out to you')
  t.equal(await focused(novice), 'verification-code', 'the prompt takes the focus, in the code field')
  t.match(await novice.locator('label[for=verification-code]').textContent(), /\(optional\)$/, 'not required by policy: optional, but checked when typed')
  t.equal(await field.getAttribute('inputmode'), 'numeric')
  t.equal(await field.getAttribute('autocomplete'), 'off')
  t.same(await prompt.locator('#consent-cautions li').allTextContents(), ['This helper has never helped you before.'],
    'said plainly: bob never helped alice (and is of her domain)')

  // The novice may read their own code to the helper instead.
  const mine = novice.getByRole('button', { name: 'Show my code to read it to them' })
  t.equal(await mine.getAttribute('aria-expanded'), 'false')
  await mine.click()
  t.match(await novice.locator('#my-code').textContent(), `Your code: ${spaced(code)}`, 'the same code on both pages')
  t.equal(await novice.locator('#show-my-code').getAttribute('aria-expanded'), 'true')
  t.same(await seriousViolations(novice), [], 'the consent prompt with the code shown: no serious axe violations')

  // Not six digits: said at once, nothing sent (it would count as a wrong code).
  await field.fill('12345')
  await field.press('Enter')
  await novice.locator('#verification-code-error').waitFor()
  t.equal(await field.getAttribute('aria-invalid'), 'true')
  t.equal(await focused(novice), 'verification-code')
  t.equal((await view()).verification.mismatches, 0, 'a typo in length is not a wrong code')

  // A wrong code: the service's refusal in the page's error area, the field marked invalid and still focused.
  const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0')
  await field.fill(wrong)
  t.equal(await field.getAttribute('aria-invalid'), null, 'typing again clears the mark')
  await prompt.getByRole('button', { name: 'Accept' }).click()
  await alert(novice).locator('h2', { hasText: 'That is not the code' }).waitFor()
  t.match(await alert(novice).textContent(), /check it with your helper \(2 tries left\).*Refused: VERIFICATION_CODE_MISMATCH/s)
  t.equal(await focused(novice), 'verification-code', 'the focus is back in the code field')
  t.equal(await field.getAttribute('aria-invalid'), 'true', 'marked invalid')
  t.match(await field.getAttribute('aria-describedby'), /session-error/, 'and described by the refusal')
  await novice.locator('#log li', { hasText: 'wrong verification code was typed (1 of 3 allowed)' }).waitFor()
  t.same(await seriousViolations(novice), [], 'the refused code: no serious axe violations')
  await expert.locator('#code-mismatches', { hasText: 'A wrong code was typed 1 time' }).waitFor()
  await expert.locator('#log li', { hasText: 'wrong verification code' }).waitFor()
  await stateIs(novice, 'waiting for the novice')
  t.equal(await alert(novice).count(), 1, 'the refusal stays while the novice corrects the code, after the event re-drew the page')

  // The right code, as read out (with its space), from the keyboard.
  await field.fill(spaced(code))
  await field.press('Enter')
  await stateIs(novice, 'connected')
  await stateIs(expert, 'connected')
  t.equal(await alert(novice).count(), 0, 'the refusal is gone with the accepted code')
  t.match((await view()).verification, { mismatches: 1 })

  // Required by a policy object's extension: accepting without the code is refused, and not counted.
  const created = await s.call('POST', '/v1/policies', {
    name: 'Compare the code',
    settings: { solicitedRemoteAssistance: { state: 'enabled' } },
    extensions: { verificationCode: { state: 'enabled' } }
  })
  t.equal(created.statusCode, 201, created.body)
  t.equal((await s.call('PUT', `/v1/domains/${s.contoso}/policy-links`, { policies: [created.json().policy.id] })).statusCode, 200)
  const required = await connect(s, novice, expert)
  t.match(await expert.locator('#read-code + .help').textContent(), /must type it/, 'the expert knows it is required')
  t.equal(await novice.locator('label[for=verification-code]').textContent(), 'Code your helper reads out to you', 'no longer optional')
  t.equal(await field.getAttribute('required'), '', 'required')
  await novice.getByRole('button', { name: 'Accept' }).click()
  await alert(novice).locator('h2', { hasText: 'The code is needed' }).waitFor()
  t.match(await alert(novice).textContent(), /VERIFICATION_CODE_REQUIRED/)
  t.equal(await focused(novice), 'verification-code')
  t.equal(await field.getAttribute('aria-invalid'), 'true')
  const refused = (await s.call('GET', `/v1/sessions/${required}`, undefined, s.alice)).json()
  t.match(refused, { state: 'awaiting-novice', verification: { required: true, mismatches: 0 } }, 'still waiting; a missing code is not a wrong one')
  await field.fill(refused.verification.code)
  await novice.getByRole('button', { name: 'Accept' }).click()
  await stateIs(expert, 'connected')

  // The third wrong code ends the session: both pages say so, the novice's with the service's reason.
  const ending = await connect(s, novice, expert)
  const bad = String((Number((await s.call('GET', `/v1/sessions/${ending}`, undefined, s.alice)).json().verification.code) + 7) % 1_000_000).padStart(6, '0')
  for (let attempt = 1; attempt <= 3; attempt++) {
    await field.fill(bad)
    await field.press('Enter')
    // The refusal is drawn once the page is done with the answer (and ready for the next try).
    if (attempt < 3) await alert(novice).getByText(`(${3 - attempt} ${attempt === 2 ? 'try' : 'tries'} left)`).waitFor()
  }
  await novice.getByRole('heading', { name: 'The session has ended' }).waitFor()
  t.match(await alert(novice).textContent(), /after 3 wrong codes the session has ended/, 'the refusal stays, saying why')
  t.match(await novice.locator('#end-reason').textContent(), /The verification code was typed wrong 3 times/)
  await expert.getByRole('heading', { name: 'The session has ended' }).waitFor()
  await expert.locator('#log li', { hasText: '(3 of 3 allowed): the session ends.' }).waitFor()
  t.same(s.foreign, [])
})

t.test('C4 control that runs out: granted for a chosen time, both pages say until when; the expert asks for more time, ' +
  'the novice gives it in one click; the end is announced', { skip: noBrowser }, async (t) => {
  const s = await site(t)
  await setPolicy(s, { solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'control' } })
  const { novice, expert } = await parties(t, s)
  const id = await connect(s, novice, expert)
  const view = async (): Promise<Json> => (await s.call('GET', `/v1/sessions/${id}`, undefined, s.alice)).json()
  await novice.getByRole('button', { name: 'Accept' }).click()
  await expert.getByRole('button', { name: 'Request control' }).click()

  const prompt = novice.getByRole('region', { name: 'CONTOSO\\bob asks to control your computer' })
  await prompt.waitFor()
  const duration = prompt.getByLabel('For how long')
  t.same(await duration.locator('option').allTextContents(), ['15 minutes', '30 minutes', '1 hour', '2 hours'])
  t.equal(await duration.inputValue(), '30', 'half an hour unless the novice chooses')
  t.equal(await focused(novice), 'grant', 'the prompt still takes the focus on Grant')
  await duration.selectOption({ label: '1 hour' })
  const before = Date.now()
  await prompt.getByRole('button', { name: 'Grant control' }).click()
  await stateIs(novice, 'in control')
  await stateIs(expert, 'in control')
  const granted = (await view()).control
  const lasts = Date.parse(granted.until) - before
  t.ok(lasts > 59 * 60_000 && lasts <= 61 * 60_000, 'control lasts the hour chosen')
  for (const page of [novice, expert]) {
    await page.locator('#control-until', { hasText: `Control until ${hm(granted.until)}` }).waitFor()
    await page.locator('#log li', { hasText: `granted control for 60 minutes, until ${hm(granted.until)}` }).waitFor()
  }
  t.equal(await focused(novice), 'stop-control', 'C5: Stop control has the focus, as before')
  t.equal(await novice.locator('#give-more-time').getAttribute('class'), 'secondary', 'nothing urgent yet')
  t.match(await novice.locator('#give-more-time-help').textContent(), /60 minutes from now/)
  t.equal(await novice.getByRole('button', { name: 'This isn\'t who I expected' }).count(), 1, 'the report is at hand in control too')

  // The expert asks; the novice's page says so and highlights "Give more time"; one click gives the same again, from now.
  await expert.getByRole('button', { name: 'Ask for more time' }).click()
  await expert.locator('#more-time-asked', { hasText: 'You asked for more time' }).waitFor()
  await novice.locator('#more-time-asked', { hasText: 'CONTOSO\\bob asks for more time' }).waitFor()
  t.equal(await novice.locator('#give-more-time').getAttribute('class'), null, 'highlighted')
  t.same(await seriousViolations(novice), [], 'in control, more time asked: no serious axe violations')
  t.same(await seriousViolations(expert), [], 'the expert in control: no serious axe violations')
  await novice.getByRole('button', { name: 'Give more time' }).click()
  await novice.locator('#log li', { hasText: 'The novice gave more time' }).waitFor()
  const renewed = (await view()).control
  t.equal(renewed.moreTimeRequestedAt, null, 'answered')
  t.ok(Date.parse(renewed.until) >= Date.parse(granted.until), 'another hour from now')
  await expert.locator('#log li', { hasText: `gave more time: control for 60 minutes more, until ${hm(renewed.until)}` }).waitFor()
  await expert.locator('#control-until', { hasText: `Control until ${hm(renewed.until)}` }).waitFor()
  t.equal(await novice.locator('#more-time-asked').count(), 0)
  t.equal(await focused(novice), 'give-more-time', 'the focus stays where the novice clicked')

  // Control about to run out (renewed for a minute through the API): both pages say so, and one click gives the novice's hour again.
  t.equal((await s.call('POST', `/v1/sessions/${id}/control/renew`, { minutes: 1 }, s.alice)).statusCode, 200)
  for (const page of [novice, expert]) {
    await page.locator('#log li', { hasText: 'Control ends in a minute' }).waitFor()
    await page.locator('#control-expiring', { hasText: 'Control ends in a minute.' }).waitFor()
  }
  t.equal(await novice.locator('#give-more-time').getAttribute('class'), null, 'highlighted')
  await novice.getByRole('button', { name: 'Give more time' }).click()
  await novice.locator('#control-expiring').waitFor({ state: 'detached' })
  const again = (await view()).control
  t.ok(Date.parse(again.until) - Date.now() > 59 * 60_000, 'the hour the novice chose, not the minute')
  await expert.locator('#control-until', { hasText: `Control until ${hm(again.until)}` }).waitFor()
  await expert.locator('#control-expiring').waitFor({ state: 'detached' })

  // Stop control is as it was: one keystroke.
  await novice.keyboard.press('Escape')
  await stateIs(novice, 'connected')
  await stateIs(expert, 'connected')
  t.equal(await novice.locator('#control-until').count(), 0)
  t.same(s.foreign, [])
})

t.test('"This isn\'t who I expected": the novice is told the helper is from another domain and new to them, reports them, the session ends ' +
  'on both pages and the administrators list the report', { skip: noBrowser }, async (t) => {
  const s = await site(t)
  const imported = await s.call('POST', '/v1/directory/import', {
    domains: [{ name: 'CONTOSO', trusts: ['FABRIKAM'] }, { name: 'FABRIKAM' }],
    users: [{ name: 'FABRIKAM\\mallory', displayName: 'Mallory' }]
  })
  t.equal(imported.statusCode, 200, imported.body)
  const { novice, expert } = await parties(t, s, 'FABRIKAM\\mallory')
  const id = await connect(s, novice, expert)

  const prompt = novice.getByRole('region', { name: 'Mallory (FABRIKAM\\mallory) wants to see your screen' })
  t.same(await prompt.locator('#consent-cautions li').allTextContents(), [
    'This helper is from another domain (FABRIKAM), not yours (CONTOSO).',
    'This helper has never helped you before.'
  ], 'said plainly, before accepting')
  t.equal(await expert.getByRole('button', { name: 'This isn\'t who I expected' }).count(), 0, 'the expert has no report button')

  const open = novice.getByRole('button', { name: 'This isn\'t who I expected' })
  t.equal(await open.getAttribute('aria-expanded'), 'false')
  await open.click()
  const words = novice.getByLabel('What happened?')
  t.equal(await focused(novice), 'report-words', 'the form opens with the focus in it')
  t.equal(await words.getAttribute('maxlength'), '2000')
  t.equal(await open.getAttribute('aria-expanded'), 'true')
  t.same(await seriousViolations(novice), [], 'the report form: no serious axe violations')

  // Cancel closes it and gives the focus back; nothing is sent.
  await novice.getByRole('button', { name: 'Cancel' }).click()
  t.equal(await novice.locator('#report-form').count(), 0)
  t.equal(await focused(novice), 'report-open')
  await open.click()

  // Nothing said: asked for, nothing sent.
  await novice.getByRole('button', { name: 'Report and end the session' }).click()
  await novice.locator('#report-error').waitFor()
  t.equal(await words.getAttribute('aria-invalid'), 'true')
  t.equal(await focused(novice), 'report-words')
  t.equal((await s.call('GET', `/v1/sessions/${id}`)).json().state, 'awaiting-novice')

  await words.fill('He called me saying he was from the bank, not our helpdesk.')
  await novice.getByRole('button', { name: 'Report and end the session' }).click()
  await novice.getByRole('heading', { name: 'The session has ended' }).waitFor()
  t.match(await novice.locator('#report-sent').textContent(), /Your report went to the administrators/)
  t.match(await novice.locator('#end-reason').textContent(), /reported that this is not who they expected/)
  t.equal(await focused(novice), 'ended-title', 'the focus goes to what happened')
  t.same(await seriousViolations(novice), [], 'ended after a report: no serious axe violations')

  await expert.getByRole('heading', { name: 'The session has ended' }).waitFor()
  t.match(await expert.locator('#end-reason').textContent(), /The novice reported that this is not who they expected/)
  t.match(await expert.locator('#report-sent').textContent(), /report went to the administrators/)
  await expert.locator('#log li', { hasText: 'the novice reported that this is not who they expected' }).waitFor()
  t.notMatch((await expert.locator('#log').textContent()) ?? '', /bank/, 'the expert is not shown the words')

  const reports = (await s.call('GET', '/v1/security-reports')).json()
  t.match(reports.items, [{
    sessionId: id,
    novice: 'CONTOSO\\alice',
    expert: { name: 'FABRIKAM\\mallory', displayName: 'Mallory' },
    words: 'He called me saying he was from the bank, not our helpdesk.'
  }], 'the administrators list it')
  t.same(s.foreign, [])
})
