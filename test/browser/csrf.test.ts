import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { launchBrowser, noBrowser, site } from './browser.js'
import type { Json } from '../helper.js'

/**
 * Another origin on the same host (another port: the same *site*, so SameSite=Lax does not keep the cookie
 * back): the nearest an attacker's page gets. Its page runs `script` as soon as it loads.
 */
async function attackerPage (t: Test, script: string, form = ''): Promise<string> {
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'text/html; charset=utf-8')
    response.end(`<!doctype html><html><body>${form}<p id="done">…</p><script>${script}</script></body></html>`)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
}

t.test('C5: a page of another origin cannot act with a signed-in person\'s cookie: no CSRF token, no change', { skip: noBrowser }, async (t) => {
  const s = await site(t)
  const browser = await launchBrowser(t)
  const { page } = await s.person(browser)
  await s.signInAs(page, 'CONTOSO\\bob')
  const { ticket } = await s.invite()
  await page.goto(`${s.base}/redeem#ticket=${ticket}`)
  await page.getByRole('button', { name: 'Connect' }).click()
  await page.waitForURL(/\/sessions\//)
  const sessionId = new URL(page.url()).pathname.split('/').pop()!

  // Script: requests with the cookie attached (credentials: include), to the API and to the page forms.
  const evil = await attackerPage(t, `
    (async () => {
      const base = ${JSON.stringify(s.base)}
      const tries = [
        fetch(base + '/v1/sessions/${sessionId}/end', { method: 'POST', credentials: 'include', mode: 'no-cors' }),
        fetch(base + '/v1/invitations', { method: 'POST', credentials: 'include', mode: 'no-cors', headers: { 'content-type': 'text/plain' },
          body: JSON.stringify({ computer: 'CONTOSO\\\\PC-10' }) })
      ]
      await Promise.allSettled(tries)
      document.getElementById('done').textContent = 'done'
    })()`)
  await page.goto(evil)
  await page.locator('#done', { hasText: 'done' }).waitFor()
  t.equal((await s.call('GET', `/v1/sessions/${sessionId}`)).json().state, 'awaiting-novice', 'the session was not ended')
  const refused = (await s.call('GET', '/v1/audit-events?action=auth.csrf-refused')).json().items as Json[]
  t.equal(refused.length, 2, 'both attempts reached the service with the cookie, and were refused')
  t.match(refused[0], { actor: 'CONTOSO\\bob', outcome: 'denied', details: { origin: evil.replace(/\/$/, '') } })

  // A form posted from there to sign out is refused too (it cannot know the page's token).
  const form = `<form method="post" action="${s.base}/sign-out"><input name="csrf" value="guess"></form>`
  const formPage = await attackerPage(t, 'document.forms[0].submit()', form)
  await page.goto(formPage)
  await page.waitForURL(`${s.base}/sign-out`)
  t.match(await page.getByRole('alert').textContent(), /CSRF token is missing or wrong/)
  await page.goto(`${s.base}/`)
  t.equal(page.url(), `${s.base}/`, 'still signed in')
  t.equal((await s.call('GET', `/v1/sessions/${sessionId}`)).json().state, 'awaiting-novice')
})
