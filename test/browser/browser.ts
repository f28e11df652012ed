import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { CHROMIUM, HOW_TO_INSTALL, launchChromium } from '../../scripts/chromium.js'
import type { Test } from 'tap'
import { freePort } from '../smtp-helper.js'
import { world, type InvitationWorld } from '../routes/invitations-helper.js'

/**
 * The reason to skip browser tests (`t.test(name, { skip: noBrowser }, …)`): no Chromium here, saying how to
 * install it. Where RA_REQUIRE_BROWSER=1 (CI) nothing is skipped, and a missing browser fails the tests.
 */
export const noBrowser: string | false = existsSync(CHROMIUM) || process.env['RA_REQUIRE_BROWSER'] === '1'
  ? false
  : `${HOW_TO_INSTALL} to run the browser tests`

/** A real Chromium with a fresh profile, closed when the test ends. */
export async function launchBrowser (t: Test): Promise<Browser> {
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  return browser
}

export interface Site extends InvitationWorld {
  /** The service's address, as the browser reaches it (also RA_PUBLIC_BASE_URL). */
  base: string
  /** Every request the browser made to another origin (there should be none). */
  foreign: string[]
  /** A browser context (its own cookies) with one page, that records requests leaving the service. */
  person: (browser: Browser) => Promise<{ context: BrowserContext, page: Page }>
  /** Signs `page` in as a directory user with a one-time link, as the CLI makes one. */
  signInAs: (page: Page, user: string) => Promise<void>
}

/** The invitation world (CONTOSO, alice at PC-10, bob the expert) served on a loopback port for a browser. */
export async function site (t: Test, env: Record<string, string> = {}): Promise<Site> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const w = await world(t, { RA_PORT: String(port), RA_PUBLIC_BASE_URL: base, ...env })
  await w.app.listen({ host: '127.0.0.1', port })
  const foreign: string[] = []
  return {
    ...w,
    base,
    foreign,
    person: async (browser) => {
      const context = await browser.newContext({ baseURL: base, locale: 'en-GB', timezoneId: 'UTC' })
      context.on('request', (request) => {
        const url = new URL(request.url())
        if (url.origin !== base && url.protocol !== 'data:' && url.protocol !== 'mailto:') foreign.push(request.url())
      })
      context.setDefaultTimeout(10_000)
      t.teardown(() => context.close())
      const page = await context.newPage()
      // On a failure, what the page said is in the test's output.
      page.on('console', (m) => { if (m.type() === 'error') t.comment(`browser console: ${m.text()}`) })
      page.on('pageerror', (e) => t.comment(`page error: ${e.message}`))
      return { context, page }
    },
    signInAs: async (page, user) => {
      const { url } = await w.app.services.signIn.createLink(user, { actor: 'cli', actorTokenId: null, requestId: null })
      await page.goto(url)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(`${base}/`)
    }
  }
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/** axe-core's serious and critical violations on the page as it is now (axe runs through the devtools protocol, not as a page script). */
export async function seriousViolations (page: Page): Promise<string[]> {
  await page.evaluate(axeSource)
  type Violation = { id: string, impact: string, nodes: Array<{ target: string[] }> }
  const result = await page.evaluate('axe.run(document, { resultTypes: ["violations"] })') as { violations: Violation[] }
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
}
