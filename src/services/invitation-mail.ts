import {
  INVITATION_FILE_NAME, rcTicketAddresses, writeInvitationFile, type InvitationFile, type NoviceConnection
} from '../domain/invitation-file.js'

export interface InvitationMailContext {
  invitationId: string
  novice: string
  noviceDisplayName: string | null
  computer: string
  createdAt: Date
  expiresAt: Date
  passwordRequired: boolean
  personalMessage: string | null
  method: 'mailto' | 'smapi'
  ticket: string
  publicBaseUrl: string
  /** What the invitation file carries beside the ticket (see invitationFileFor). */
  file: { connection: NoviceConnection | null, passStub: string | null, lhTicket: string | null }
}

export interface InvitationMail {
  subject: string
  text: string
  html: string
  attachments: Array<{ filename: string, content: Buffer, contentType: string }>
}

/** No header-bound text may carry a line break (header injection). */
const oneLine = (s: string): string => s.replace(/[\r\n\u2028\u2029]+/g, ' ').trim()

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')

/**
 * The link that opens the redemption page. The ticket rides in the URL
 * fragment, which browsers never send to a server, so it stays out of every
 * server and proxy log.
 */
export function redeemLink (publicBaseUrl: string, ticket: string): string {
  return `${publicBaseUrl}/redeem#ticket=${ticket}`
}

export function invitationSubject (ctx: Pick<InvitationMailContext, 'novice' | 'noviceDisplayName'>): string {
  const who = ctx.noviceDisplayName ? `${ctx.noviceDisplayName} (${ctx.novice})` : ctx.novice
  return oneLine(`YOU HAVE RECEIVED A REMOTE ASSISTANCE INVITATION FROM: ${who}`)
}

/** The invitation e-mail: plain text and HTML saying who asks, from where, until when; never the password. */
export function composeInvitationMail (ctx: InvitationMailContext): InvitationMail {
  const who = ctx.noviceDisplayName ? `${ctx.noviceDisplayName} (${ctx.novice})` : ctx.novice
  const until = ctx.expiresAt.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')
  const password = ctx.passwordRequired
    ? 'This invitation is protected by a password. It is not in this message: ask the sender for it by phone or in person.'
    : 'This invitation needs no password.'
  const link = redeemLink(ctx.publicBaseUrl, ctx.ticket)
  const how = ctx.method === 'mailto'
    ? `To help, open this link:\n${link}`
    : `To help, open the attached invitation file, ${INVITATION_FILE_NAME}, with Remote Assistance.`
  const text = [
    `${who} is asking for your help with the computer ${ctx.computer} through Remote Assistance.`,
    '',
    `The invitation is open until ${until}.`,
    password,
    ...(ctx.personalMessage ? ['', 'Message from the sender:', ...ctx.personalMessage.split(/\r?\n/).map((l) => `> ${l}`)] : []),
    '',
    how,
    '',
    'Connecting needs the sender\'s consent: they will be asked to accept you, and remote control only starts if they grant it.'
  ].join('\n')
  const html = [
    '<!doctype html><html><body>',
    `<p><strong>${escapeHtml(who)}</strong> is asking for your help with the computer ` +
      `<strong>${escapeHtml(ctx.computer)}</strong> through Remote Assistance.</p>`,
    `<p>The invitation is open until ${escapeHtml(until)}.<br>${escapeHtml(password)}</p>`,
    ...(ctx.personalMessage ? [`<p>Message from the sender:</p><blockquote>${escapeHtml(ctx.personalMessage).replace(/\r?\n/g, '<br>')}</blockquote>`] : []),
    ctx.method === 'mailto'
      ? `<p>To help, <a href="${escapeHtml(link)}">open the invitation</a>.</p>`
      : `<p>To help, open the attached invitation file, <code>${INVITATION_FILE_NAME}</code>, with Remote Assistance.</p>`,
    '<p>Connecting needs the sender\'s consent: they will be asked to accept you, and remote control only starts if they grant it.</p>',
    '</body></html>'
  ].join('\n')
  const attachments = ctx.method === 'smapi'
    ? [{ filename: INVITATION_FILE_NAME, contentType: 'application/octet-stream', content: writeInvitationFile(invitationFileFor(ctx)) }]
    : []
  return { subject: invitationSubject(ctx), text, html, attachments }
}

/**
 * The [MS-RAI] fields for this invitation. With the connection data its novice's agent reported: the novice
 * computer's addresses and RA session id, the PassStub, and (Vista and later, with a password) the LHTICKET, so
 * that a Remote Assistance client can connect; `RCTICKETENCRYPTED` is 1 only then. Without: the service's own
 * address and the invitation id, for the service's own clients, claiming no encryption. Either way the last field
 * of RCTICKET is the signed ticket, which redemption checks.
 */
export function invitationFileFor (
  ctx: Pick<InvitationMailContext, 'invitationId' | 'novice' | 'createdAt' | 'expiresAt' | 'ticket' | 'publicBaseUrl' | 'file'>
): InvitationFile {
  const url = new URL(ctx.publicBaseUrl)
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  const times = {
    dtStart: Math.floor(ctx.createdAt.getTime() / 1000),
    dtLength: Math.round((ctx.expiresAt.getTime() - ctx.createdAt.getTime()) / 60_000)
  }
  const { connection, passStub, lhTicket } = ctx.file
  if (connection === null) {
    return {
      username: ctx.novice,
      rcTicket: { version: '65538', addresses: `${url.hostname}:${port}`, id: ctx.invitationId, parms: ctx.ticket },
      encrypted: false,
      ...times,
      passStub: ''
    }
  }
  return {
    username: ctx.novice,
    rcTicket: { version: '65538', addresses: rcTicketAddresses(connection.addresses), id: connection.sessionId, parms: ctx.ticket },
    encrypted: lhTicket !== null,
    ...times,
    passStub: passStub ?? '',
    ...(lhTicket !== null ? { lhTicket } : {})
  }
}

/**
 * An RFC 6068 `mailto:` URI for the novice's own mail program: addresses keep
 * their `@`, everything else is percent-encoded (UTF-8), line breaks as %0D%0A.
 */
export function mailtoUri (recipients: string[], subject: string, body: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  const to = recipients.map((r) => enc(r).replace(/%40/g, '@')).join(',')
  return `mailto:${to}?subject=${enc(subject)}&body=${enc(body.replace(/\r?\n/g, '\r\n'))}`
}
