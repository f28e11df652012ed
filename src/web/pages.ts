import type { Check } from '../domain/decisions.js'
import type { Effective, ResultantPolicy } from '../domain/resultant-policy.js'
import { describeSource } from '../domain/resultant-policy.js'
import type { Me, Session } from '../schemas/invitations.js'
import { html, type Html } from './html.js'

/** Who is looking at a page: nobody yet, or a signed-in person with the CSRF token their page sends back. */
export interface Viewer {
  kind: 'admin' | 'user'
  name: string
  displayName: string | null
  csrf: string
}

export interface PageParts {
  title: string
  viewer: Viewer | null
  body: Html
  /** The page's own script module, under /assets/. */
  script?: string
  /** Data for the script, as data- attributes of <main>. */
  data?: Record<string, string>
}

/** The frame of every page: no inline script or style, one stylesheet, one module script at most. */
export function layout (p: PageParts): Html {
  const data = Object.entries(p.data ?? {}).map(([k, v]) => html` data-${k}="${v}"`)
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${p.title} · Remote Assistance</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
${p.viewer ? html`<meta name="ra-csrf" content="${p.viewer.csrf}">` : ''}
${p.script ? html`<script type="module" src="/assets/${p.script}"></script>` : ''}
</head>
<body>
<a class="skip" href="#main">Skip to the content</a>
<header class="bar">
  <a class="brand" href="/">Remote Assistance</a>
  ${p.viewer ? nav(p.viewer) : ''}
</header>
<main id="main" tabindex="-1"${data}>
<h1>${p.title}</h1>
${p.body}
</main>
</body>
</html>
`
}

function nav (viewer: Viewer): Html {
  const links = viewer.kind === 'admin'
    ? html`<li><a href="/admin/computers">Computers</a></li>`
    : html`<li><a href="/ask">Ask for help</a></li><li><a href="/redeem">Redeem an invitation</a></li>`
  return html`<nav aria-label="Main"><ul><li><a href="/">Sessions</a></li>${links}</ul></nav>
  <form class="who" method="post" action="/sign-out">
    <span>Signed in as <strong>${viewer.displayName ?? viewer.name}</strong>${viewer.displayName ? html` (${viewer.name})` : ''}</span>
    <input type="hidden" name="csrf" value="${viewer.csrf}">
    <button type="submit" class="secondary">Sign out</button>
  </form>`
}

export function signInPage (opts: { returnTo: string, oidc: boolean, notice?: string | undefined, error?: string | undefined }): Html {
  return layout({
    title: 'Sign in',
    viewer: null,
    script: 'sign-in.js',
    body: html`
${opts.notice ? html`<p class="notice" role="status">${opts.notice}</p>` : ''}
${opts.error ? html`<div class="refusal" role="alert"><p>${opts.error}</p></div>` : ''}
${opts.oidc
  ? html`<section aria-labelledby="idp"><h2 id="idp">With your organisation's account</h2>
    <p><a class="button" id="sign-in-idp" href="/sign-in/oidc?return=${encodeURIComponent(opts.returnTo)}">Sign in with your organisation</a></p></section>`
  : html`<p>Your administrator can give you a one-time sign-in link.</p>`}
<section aria-labelledby="with-token"><h2 id="with-token">With one of your API tokens</h2>
<form method="post" action="/sign-in/token" class="stack">
  <input type="hidden" name="return" value="${opts.returnTo}">
  <label for="token">API token</label>
  <input id="token" name="token" type="password" autocomplete="off" required maxlength="1024" aria-describedby="token-help">
  <p id="token-help" class="help">Pasted once: the page then keeps you signed in with a session of its own; the token itself is not kept by the browser.</p>
  <button type="submit">Sign in</button>
</form>
</section>`
  })
}

export function signInLinkPage (): Html {
  return layout({
    title: 'Sign in with a link',
    viewer: null,
    script: 'sign-in-link.js',
    body: html`
<form method="post" action="/sign-in/link" class="stack" id="link-form">
  <input type="hidden" name="code" id="code" value="">
  <p id="link-state">This one-time link signs you in once.</p>
  <button type="submit" id="use-link">Sign in</button>
</form>`
  })
}

/** A refusal as a page of its own: what happened, in words, and what to do. */
export function refusalPage (title: string, message: string, viewer: Viewer | null, next: Html = html`<p><a href="/sign-in">Back to sign-in</a></p>`): Html {
  return layout({ title, viewer, body: html`<div class="refusal" role="alert"><p>${message}</p></div>${next}` })
}

const STATE_WORDS: Record<Session['state'], string> = {
  'awaiting-novice': 'waiting for the novice to accept',
  active: 'connected: the expert sees the screen',
  'control-requested': 'the expert asked for control',
  'in-control': 'the expert is in control',
  ended: 'ended',
  declined: 'declined',
  expired: 'expired (not accepted in time)'
}

export function homePage (viewer: Viewer, sessions: Session[]): Html {
  const rows = sessions.map((s) => {
    const other = viewer.name.toUpperCase() === s.novice.name.toUpperCase() ? s.expert : s.novice
    return html`<tr><td><a href="/sessions/${s.id}">${other.displayName ?? other.name}</a></td><td>${s.computer}</td>
      <td>${STATE_WORDS[s.state]}</td><td><time datetime="${s.createdAt}">${s.createdAt.replace('T', ' ').slice(0, 16)} UTC</time></td></tr>`
  })
  return layout({
    title: 'Sessions',
    viewer,
    ...(viewer.kind === 'user' ? { script: 'home.js', data: { me: viewer.name } } : {}),
    body: html`
${viewer.kind === 'user' ? html`<div id="waiting-for-you" aria-live="assertive"></div>` : ''}
${viewer.kind === 'user'
  ? html`<p class="actions"><a class="button" href="/ask">Ask for help</a> <a class="button secondary" href="/redeem">Redeem an invitation</a></p>`
  : html`<p class="actions"><a class="button" href="/admin/computers">Computers: policy, offer check, readiness</a></p>`}
${sessions.length === 0
  ? html`<p>No sessions yet.</p>`
  : html`<table><caption>Your most recent sessions</caption>
<thead><tr><th scope="col">With</th><th scope="col">Computer</th><th scope="col">State</th><th scope="col">Started</th></tr></thead>
<tbody>${rows}</tbody></table>`}`
  })
}

export function redeemPage (viewer: Viewer): Html {
  return layout({
    title: 'Help someone',
    viewer,
    script: 'redeem.js',
    body: html`
<div id="redeem"><p>Reading the invitation…</p></div>
<noscript><p>This page needs JavaScript to read the invitation from its link or its short code.</p></noscript>`
  })
}

export function sessionPage (viewer: Viewer, sessionId: string): Html {
  return layout({
    title: 'Remote Assistance session',
    viewer,
    script: 'session.js',
    data: { 'session-id': sessionId, me: viewer.name },
    body: html`
<div id="session-error"></div>
<div id="session"><p>Loading the session…</p></div>
<section aria-labelledby="log-title"><h2 id="log-title">What happened</h2><ol id="log" class="log" aria-live="polite"></ol></section>`
  })
}

export function askPage (viewer: Viewer, me: Me): Html {
  const options = me.computers.map((c) => html`<option value="${c.computerId}" data-max="${c.maxLifetimeMinutes ?? ''}"
    data-source="${c.maxLifetimeSource ?? ''}" data-allowed="${c.allowed ? 'yes' : 'no'}"
    data-refusal="${c.checks.filter((k) => !k.passed).map((k) => `${k.rule}: ${k.detail}`).join('; ')}">${c.computer}</option>`)
  return layout({
    title: 'Ask for help',
    viewer,
    script: 'ask.js',
    body: me.computers.length === 0
      ? html`<p>You are not a user of any computer in the directory, so you cannot ask for help from one.
  An administrator can add you to a computer's users.</p>`
      : html`
<form id="ask" class="stack" novalidate>
  <label for="computer">Computer you are at</label>
  <select id="computer" name="computer" required aria-describedby="computer-help">${options}</select>
  <p id="computer-help" class="help" aria-live="polite"></p>
  <fieldset>
    <legend>How long the invitation stays open</legend>
    <div class="row">
      <label for="lifetime" class="sr-only">Lifetime</label>
      <input id="lifetime" name="lifetime" type="number" min="1" step="1" required aria-describedby="lifetime-help">
      <label for="unit" class="sr-only">Unit</label>
      <select id="unit" name="unit"><option value="minutes">minutes</option><option value="hours">hours</option><option value="days">days</option></select>
    </div>
    <p id="lifetime-help" class="help"></p>
  </fieldset>
  <label for="password">Password (optional)</label>
  <input id="password" name="password" type="password" autocomplete="new-password" maxlength="256" aria-describedby="password-help">
  <p id="password-help" class="help">Tell it to your helper another way (by phone, say): they need it to connect.</p>
  <label for="helper">Only this helper may open it (optional)</label>
  <input id="helper" name="helper" type="text" autocomplete="off" maxlength="200" placeholder="DOMAIN\\name" aria-describedby="helper-help">
  <p id="helper-help" class="help">A person or a group of your organisation, e.g. your helpdesk: no one else can use the invitation.</p>
  <div class="check">
    <input id="short-code-option" name="shortCode" type="checkbox" aria-describedby="short-code-help">
    <label for="short-code-option">Also give me a short code I can read out (valid 30 minutes)</label>
  </div>
  <p id="short-code-help" class="help">Your helper can type it instead of opening the link, while you are on the phone, say.
    It ends with the invitation, if that is sooner.</p>
  <button type="submit" id="create">Create the invitation</button>
</form>
<div id="ask-result" aria-live="polite"></div>`
  })
}

function checksList (checks: Check[]): Html {
  return html`<ul class="checks">${checks.map((c) => html`<li class="${c.passed ? 'passed' : 'failed'}">
    <span class="verdict">${c.passed ? 'Passed' : 'Failed'}</span> <strong>${c.rule}</strong> ${c.detail}
    ${c.remedy ? html`<div class="remedy"><span>Remedy:</span> ${c.remedy}</div>` : ''}</li>`)}</ul>`
}

const POLICY_ROWS: Array<[keyof ResultantPolicy, string]> = [
  ['solicitedRemoteAssistance', 'Solicited Remote Assistance (S1, S5, S6)'],
  ['permitRemoteControl', 'Permit remote control (S2)'],
  ['maxTicketTime', 'Maximum ticket time (S3)'],
  ['emailMethod', 'Method for e-mail invitations (S4)'],
  ['offerRemoteAssistance', 'Offer Remote Assistance (O1)'],
  ['offerPermission', 'Offer: helpers may (O3)'],
  ['offerHelpers', 'Offer: helpers (O2)'],
  ['sessionLogging', 'Session logging'],
  ['encryptedOnlyTickets', 'Only encrypted tickets'],
  ['customMessages', 'Custom messages']
]

function settingValue (value: unknown): string {
  if (value === null) return '—'
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.join(', ')
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>
    if ('unit' in v) return `${String(v['value'])} ${String(v['unit'])}`
    if ('viewMessage' in v) return `before connecting: “${String(v['viewMessage'])}”; before sharing control: “${String(v['shareControlMessage'])}”`
    return JSON.stringify(value)
  }
  return String(value)
}

export function computersPage (viewer: Viewer, computers: Array<{ id: string, name: string, platform: string | null }>): Html {
  return layout({
    title: 'Computers',
    viewer,
    body: computers.length === 0
      ? html`<p>The directory has no computers yet.</p>`
      : html`<table><caption>Computers in the directory</caption><thead><tr><th scope="col">Computer</th><th scope="col">Platform</th></tr></thead>
<tbody>${computers.map((c) => html`<tr><td><a href="/admin/computers/${c.id}">${c.name}</a></td><td>${c.platform ?? 'unknown'}</td></tr>`)}</tbody></table>`
  })
}

export function computerPage (viewer: Viewer, p: {
  computer: { id: string, name: string, platform: string | null }
  settings: ResultantPolicy
  readiness: { ready: boolean, checks: Check[], warnings: string[] }
  offer: { expert: string, expertComputer: string, result: { allowed: boolean, checks: Check[] } | { error: string } } | null
}): Html {
  const rows = POLICY_ROWS.map(([key, label]) => {
    const e = p.settings[key] as Effective<unknown>
    const note = e.note ? html`<br><span class="help">${e.note}</span>` : ''
    return html`<tr><th scope="row">${label}</th><td>${settingValue(e.value)}</td><td>${describeSource(e.source)}${note}</td></tr>`
  })
  const offer = p.offer
  return layout({
    title: p.computer.name,
    viewer,
    body: html`
<p>Platform: ${p.computer.platform ?? 'unknown'}. Read-only: policy is changed through the API.</p>
<section aria-labelledby="policy"><h2 id="policy">Effective policy</h2>
<table><caption>Every setting with the source it came from</caption>
<thead><tr><th scope="col">Setting</th><th scope="col">Value</th><th scope="col">Source</th></tr></thead><tbody>${rows}</tbody></table></section>
<section aria-labelledby="offer"><h2 id="offer">Offer check</h2>
<form method="get" action="/admin/computers/${p.computer.id}#offer" class="stack">
  <label for="expert">Expert (DOMAIN\\name)</label>
  <input id="expert" name="expert" required maxlength="300" value="${offer?.expert ?? ''}">
  <label for="expertComputer">Expert's computer (optional)</label>
  <input id="expertComputer" name="expertComputer" maxlength="300" value="${offer?.expertComputer ?? ''}">
  <button type="submit">Check</button>
</form>
${offer
  ? 'error' in offer.result
    ? html`<div class="refusal" role="alert"><p>${offer.result.error}</p></div>`
    : html`<p role="status"><strong>${offer.expert} ${offer.result.allowed ? 'may' : 'may not'} offer help to ${p.computer.name}.</strong></p>
${checksList(offer.result.checks)}`
  : ''}
</section>
<section aria-labelledby="readiness"><h2 id="readiness">Readiness</h2>
<p><strong>${p.readiness.ready ? 'Ready: every prerequisite is met.' : 'Not ready: see the remedies below.'}</strong></p>
${checksList(p.readiness.checks)}
${p.readiness.warnings.length ? html`<ul class="warnings">${p.readiness.warnings.map((w) => html`<li>${w}</li>`)}</ul>` : ''}
</section>`
  })
}
