import { createHmac, randomBytes } from 'node:crypto'
import ipaddr from 'ipaddr.js'

/**
 * Webhooks in the Standard Webhooks format (https://www.standardwebhooks.com): each delivery carries
 * `webhook-id`, `webhook-timestamp` (seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`,
 * keyed by a `whsec_` secret, so receivers verify with the `standardwebhooks` package in any language.
 */

/** The events a subscription may ask for. */
export const WEBHOOK_EVENT_TYPES = [
  'invitation.created', 'invitation.delivered', 'invitation.redeemed', 'invitation.revoked', 'invitation.expired', 'invitation.locked',
  'session.accepted', 'session.declined', 'session.expired', 'session.ended', 'session.terminated',
  'control.requested', 'control.granted', 'control.denied', 'control.stopped', 'control.dropped',
  'control.expiring', 'control.expired', 'control.renewed', 'control.more-time-requested',
  'offer.created', 'offer.refused', 'security.ticket-reused', 'security.code-mismatch', 'security.reported', 'policy.changed'
] as const
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number]

const EVENT_TYPES: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES)

export function isWebhookEventType (type: string): type is WebhookEventType {
  return EVENT_TYPES.has(type)
}

const SECRET_PREFIX = 'whsec_'

/** A new signing secret: `whsec_` and 32 random bytes in base64, as Standard Webhooks libraries expect. */
export function generateWebhookSecret (): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64')
}

/** The HMAC key a `whsec_` secret stands for. */
function keyOf (secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a webhook secret starts with whsec_')
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64')
}

/**
 * The `webhook-signature` header for one delivery: a `v1,` signature per secret, separated by spaces, so that
 * during a rotation the old and the new secret both sign and a receiver holding either verifies.
 */
export function webhookSignature (secrets: readonly string[], id: string, timestampS: number, body: string): string {
  if (secrets.length === 0) throw new Error('at least one secret signs')
  return secrets.map((secret) => 'v1,' + createHmac('sha256', keyOf(secret)).update(`${id}.${timestampS}.${body}`).digest('base64')).join(' ')
}

/** Addresses no webhook goes to, whatever the configuration: cloud metadata services outside the ranges below. */
const METADATA_ADDRESSES = new Set(['100.100.100.200', 'fd00:ec2::254', '192.0.0.192'])

/**
 * Why a webhook may not be sent to `address` (an IP address, as DNS resolved the URL's host), or null. Link-local
 * (169.254.0.0/16, fe80::/10, where cloud metadata services answer), unique-local IPv6 (fc00::/7, fd00::/8 among
 * them), unspecified, multicast, broadcast and reserved addresses are refused, and loopback unless `allowLoopback`.
 * IPv4-mapped IPv6 addresses count as the IPv4 address they carry. Private IPv4 networks are allowed: a helpdesk
 * system is often on one.
 */
export function webhookAddressProblem (address: string, allowLoopback: boolean): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`
  const ip = ipaddr.process(address)
  const normal = ip.toNormalizedString()
  if (METADATA_ADDRESSES.has(normal) || METADATA_ADDRESSES.has(ip.toString())) return `${address} is a cloud metadata address`
  const range = ip.range()
  switch (range) {
    case 'linkLocal': return `${address} is link-local (where cloud metadata services answer)`
    case 'uniqueLocal': return `${address} is a unique-local IPv6 address`
    case 'unspecified': case 'multicast': case 'broadcast': case 'reserved': return `${address} is ${range}`
    case 'loopback': return allowLoopback ? null : `${address} is loopback (allowed only with RA_WEBHOOKS_ALLOW_HTTP=true, for testing)`
    default: return null
  }
}

/**
 * Why `url` cannot be a webhook's address, or null: `https`, or `http` only to a loopback host and only when
 * `allowHttp`; no user name or password in it (they would be sent to every redirect-free receiver in clear logs);
 * no fragment. Literal IP hosts are checked here too; names are checked when they are resolved, at subscription
 * and again at each send (DNS can change).
 */
export function webhookUrlProblem (url: string, allowHttp: boolean): string | null {
  if (!URL.canParse(url)) return 'not a URL'
  const u = new URL(url)
  if (u.username !== '' || u.password !== '') return 'a user name or password in the URL is not allowed (use the signature to authenticate)'
  if (u.hash !== '') return 'a fragment is not allowed'
  // Stryker disable next-line Regex: a URL's host holds brackets only around an IPv6 address, so the anchors change nothing
  const host = u.hostname.replace(/^\[|\]$/g, '')
  const loopback = host === 'localhost' || (ipaddr.isValid(host) && ipaddr.process(host).range() === 'loopback')
  if (u.protocol === 'http:') {
    if (!allowHttp) return 'only https (http is allowed to a loopback address with RA_WEBHOOKS_ALLOW_HTTP=true)'
    if (!loopback) return 'http only to a loopback address'
  } else if (u.protocol !== 'https:') {
    return 'only https'
  }
  if (ipaddr.isValid(host)) return webhookAddressProblem(host, allowHttp)
  return null
}
