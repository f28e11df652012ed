/**
 * `npm run screenshots`: a PNG of every page in its main states, into screenshots/ (not committed), for a person
 * to look at. Starts the service on a throwaway SQLite file and a free loopback port, with a small directory, and
 * clicks through the mission in Debian's Chromium.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Page } from 'playwright-core'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { projectRoot } from '../src/paths.js'
import { launchChromium } from './chromium.js'

const ADMIN = 'screenshots-admin-token-0123456789abcdefghij'
const out = path.join(projectRoot, 'screenshots')

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

const dir = mkdtempSync(path.join(tmpdir(), 'ra-screenshots-'))
const port = await freePort()
const base = `http://127.0.0.1:${port}`
const config = loadConfig({
  RA_DATABASE_FILE: path.join(dir, 'ra.sqlite'),
  RA_PORT: String(port),
  RA_PUBLIC_BASE_URL: base,
  RA_BOOTSTRAP_ADMIN_TOKEN: ADMIN,
  RA_LOG_LEVEL: 'warn'
})
const app = await buildApp(config)
await app.listen({ host: '127.0.0.1', port })
const api = async (method: string, url: string, body?: unknown, token = ADMIN): Promise<any> => {
  const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}` }, ...(body ? { payload: body as object } : {}) })
  if (res.statusCode >= 400) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
  return res.json()
}
const browser = await launchChromium()
try {
  mkdirSync(out, { recursive: true })
  await api('POST', '/v1/directory/import', {
    domains: [{ name: 'CONTOSO', dnsName: 'contoso.com' }],
    users: [
      { name: 'CONTOSO\\alice', displayName: 'Alice Novice', email: 'alice@contoso.com' },
      { name: 'CONTOSO\\bob', displayName: 'Bob Expert', email: 'bob@contoso.com' }
    ],
    computers: [
      { name: 'CONTOSO\\PC-10', platform: 'windows-10', users: ['CONTOSO\\alice'] },
      { name: 'CONTOSO\\PC-XP', platform: 'xp-pro', users: ['CONTOSO\\alice'] }
    ]
  })
  const policy = await api('POST', '/v1/policies', {
    name: 'Helpdesk',
    settings: {
      solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'control', maxTicketTime: { value: 4, unit: 'hours' } },
      customMessages: {
        state: 'enabled', viewMessage: 'Only Contoso helpdesk staff may connect.', shareControlMessage: 'You are about to share control of your computer.'
      }
    }
  })
  const contoso = (await api('GET', '/v1/domains')).items[0].id
  await api('PUT', `/v1/domains/${contoso}/policy-links`, { policies: [policy.policy.id] })
  const pc10 = (await api('GET', '/v1/computers')).items.find((c: { name: string }) => c.name === 'CONTOSO\\PC-10').id

  const person = async (): Promise<Page> => (await browser.newContext({ baseURL: base, viewport: { width: 1200, height: 850 }, locale: 'en-GB' })).newPage()
  const shot = async (page: Page, name: string): Promise<void> => {
    await page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true })
    console.log(`screenshots/${name}.png`)
  }
  const signIn = async (page: Page, user: string): Promise<void> => {
    const { url } = await app.services.signIn.createLink(user, { actor: 'cli', actorTokenId: null, requestId: null })
    await page.goto(url)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(`${base}/`)
  }

  const novice = await person()
  const expert = await person()
  const admin = await person()
  await novice.goto('/sign-in')
  await shot(novice, '01-sign-in')
  await signIn(novice, 'CONTOSO\\alice')
  await novice.goto('/ask')
  await shot(novice, '02-ask-for-help')
  await novice.getByLabel('Password (optional)').fill('blue-42-horse')
  await novice.getByRole('button', { name: 'Create the invitation' }).click()
  await novice.getByRole('heading', { name: 'Your invitation is ready' }).waitFor()
  await shot(novice, '03-invitation-ready')

  const aliceToken = (await api('POST', '/v1/tokens', { principal: { type: 'user', user: 'CONTOSO\\alice' } })).token
  const created = await api('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', password: 'blue-42-horse' }, aliceToken)
  await expert.goto(`/redeem#ticket=${created.ticket}`)
  await signIn(expert, 'CONTOSO\\bob')
  await expert.goto('/redeem')
  await expert.getByLabel('Invitation password').waitFor()
  await shot(expert, '04-redeem')
  await expert.getByLabel('Invitation password').fill('wrong')
  await expert.getByRole('button', { name: 'Connect' }).click()
  await expert.locator('#redeem-status [role=alert]').waitFor()
  await shot(expert, '05-redeem-wrong-password')
  await expert.getByLabel('Invitation password').fill('blue-42-horse')
  await expert.getByRole('button', { name: 'Connect' }).click()
  await expert.waitForURL(/\/sessions\//)
  await expert.locator('#session-state').waitFor()
  await shot(expert, '06-session-expert-waiting')
  const sessionPath = new URL(expert.url()).pathname
  await novice.goto(sessionPath)
  await novice.getByRole('button', { name: 'Accept' }).waitFor()
  await shot(novice, '07-session-novice-consent-prompt')
  await novice.getByRole('button', { name: 'Accept' }).click()
  await expert.getByRole('button', { name: 'Request control' }).waitFor()
  await shot(expert, '08-session-expert-viewing')
  await expert.getByRole('button', { name: 'Request control' }).click()
  await novice.getByRole('button', { name: 'Grant control' }).waitFor()
  await shot(novice, '09-session-novice-control-prompt')
  await novice.getByRole('button', { name: 'Grant control' }).click()
  await novice.getByRole('button', { name: 'Stop control (Esc)' }).waitFor()
  await shot(novice, '10-session-novice-in-control')
  await expert.locator('#session-state', { hasText: 'in control' }).waitFor()
  await shot(expert, '11-session-expert-in-control')
  await novice.keyboard.press('Escape')
  await novice.getByRole('button', { name: 'End session' }).click()
  await novice.getByRole('heading', { name: 'The session has ended' }).waitFor()
  await shot(novice, '12-session-ended')
  await expert.goto(`/redeem#ticket=${created.ticket}`)
  await expert.getByRole('alert').waitFor()
  await shot(expert, '13-redeem-replayed-link')
  await expert.goto('/')
  await shot(expert, '14-home')

  await admin.goto('/sign-in')
  await admin.getByLabel('API token', { exact: true }).fill(ADMIN)
  await admin.getByRole('button', { name: 'Sign in' }).click()
  await admin.goto('/admin/computers')
  await shot(admin, '15-admin-computers')
  await admin.goto(`/admin/computers/${pc10}?expert=CONTOSO%5Cbob`)
  await shot(admin, '16-admin-computer')
} finally {
  await browser.close()
  await app.close()
  rmSync(dir, { recursive: true, force: true })
}
