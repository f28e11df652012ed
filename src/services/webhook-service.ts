import { nowIso } from '../db/database.js'
import { newId } from '../db/ids.js'
import type { Principal } from '../domain/access.js'
import { generateWebhookSecret, webhookSignature, webhookUrlProblem } from '../domain/webhooks.js'
import { AppError, notFound } from '../errors.js'
import type { Store, Unit } from '../repositories/index.js'
import type { PageOf } from '../repositories/paging.js'
import type { ClaimedWebhook, SubscriptionRow, WebhookAttemptRow, WebhookDeliveryRow } from '../repositories/webhooks-repository.js'
import type { Webhook, WebhookCreate, WebhookDelivery, WebhookDeliveryQueryType, WebhookUpdate } from '../schemas/webhooks.js'
import { SYSTEM_CONTEXT, type Caller } from './context.js'
import { decryptSecret, encryptSecret } from './key-encryption.js'
import type { WebhookResponse, WebhookSender } from './webhook-sender.js'

export interface WebhookOptions {
  allowHttp: boolean
  timeoutMs: number
  maxAttempts: number
  retryBaseMs: number
  disableAfterFailures: number
  /** RA_KEY_ENCRYPTION_SECRET: signing secrets are encrypted at rest with it when set. */
  keyEncryptionSecret: string | undefined
  /** How many deliveries are sent at once by this process (a slow receiver does not hold up the others). */
  concurrency?: number
}

const MAX_BACKOFF_MS = 3_600_000
const USER_AGENT = 'ra-ticket-service-webhooks/1'

/**
 * Webhook subscriptions and their delivery (issue 18): Standard Webhooks
 * signatures, at-least-once delivery from a durable outbox (events are
 * written by `WebhooksRepository.publish` in the unit of work of the change),
 * backoff with jitter, Retry-After, and subscriptions disabled after many
 * deliveries in a row failed for good. A subscription belongs to its creator.
 */
export class WebhookService {
  /** Decrypted secrets by their stored form (decryption costs a scrypt derivation). */
  private readonly secrets = new Map<string, string>()

  constructor (
    private readonly store: Store,
    private readonly sender: WebhookSender,
    private readonly options: WebhookOptions
  ) {}

  async create (input: WebhookCreate, caller: Caller): Promise<{ webhook: Webhook, secret: string }> {
    await this.checkUrl(input.url)
    const secret = generateWebhookSecret()
    const id = newId()
    const stored = this.seal(secret, id)
    await this.store.work(async (u) => {
      const owner = ownerOf(caller.principal)
      const enabled = input.enabled === false ? 0 : 1
      await u.webhooks.insert({ id, url: input.url, description: input.description ?? null, enabled, owner, secret: stored, created_by: caller.ctx.actor },
        input.events)
      await u.audit.record({
        ...caller.ctx,
        action: 'webhook.create',
        target: `webhooks/${id}`,
        outcome: 'success',
        details: { url: displayUrl(input.url), events: input.events, enabled: input.enabled !== false }
      })
    })
    return { webhook: await this.get(id, caller.principal), secret }
  }

  async list (query: { limit: number, cursor?: string | undefined }, principal: Principal): Promise<PageOf<Webhook>> {
    const owner = principal.kind === 'admin' ? undefined : ownerOf(principal)
    const page = await this.store.repos.webhooks.list({ ...query, owner })
    const types = await this.store.repos.webhooks.eventTypes(page.items.map((r) => r.id))
    return { items: page.items.map((r) => toWebhook(r, types.get(r.id)!)), nextCursor: page.nextCursor }
  }

  async get (id: string, principal: Principal): Promise<Webhook> {
    const row = await this.visible(this.store.repos, id, principal)
    return toWebhook(row, (await this.store.repos.webhooks.eventTypes([id])).get(id)!)
  }

  async update (id: string, input: WebhookUpdate, caller: Caller): Promise<Webhook> {
    if (input.url !== undefined) await this.checkUrl(input.url)
    await this.store.work(async (u) => {
      const before = await this.visible(u, id, caller.principal)
      const enabling = input.enabled === true && before.enabled === 0
      await u.webhooks.update(id, {
        url: input.url,
        description: input.description,
        enabled: input.enabled === undefined ? undefined : input.enabled ? 1 : 0,
        ...(enabling ? { consecutive_failures: 0, disabled_reason: null } : {})
      })
      if (input.events) await u.webhooks.setEventTypes(id, input.events)
      await u.audit.record({
        ...caller.ctx,
        action: 'webhook.update',
        target: `webhooks/${id}`,
        outcome: 'success',
        details: {
          ...(input.url !== undefined ? { url: displayUrl(input.url) } : {}),
          ...(input.events ? { events: input.events } : {}),
          ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
          ...(input.description !== undefined ? { description: input.description } : {})
        }
      })
    })
    return await this.get(id, caller.principal)
  }

  async delete (id: string, caller: Caller): Promise<void> {
    await this.store.work(async (u) => {
      const row = await this.visible(u, id, caller.principal)
      await u.webhooks.delete(id)
      await u.audit.record({ ...caller.ctx, action: 'webhook.delete', target: `webhooks/${id}`, outcome: 'success', details: { url: displayUrl(row.url) } })
    })
  }

  /** A new secret; the old one keeps signing beside it for `overlapMinutes`, so that receivers can switch without a gap. */
  async rotateSecret (id: string, overlapMinutes: number, caller: Caller): Promise<{ webhook: Webhook, secret: string }> {
    await this.visible(this.store.repos, id, caller.principal)
    const secret = generateWebhookSecret()
    const stored = this.seal(secret, id)
    await this.store.work(async (u) => {
      const row = await this.visible(u, id, caller.principal)
      const until = overlapMinutes > 0 ? new Date(Date.now() + overlapMinutes * 60_000).toISOString() : null
      await u.webhooks.update(id, { secret: stored, previous_secret: until ? row.secret : null, previous_secret_until: until })
      await u.audit.record({
        ...caller.ctx,
        action: 'webhook.rotate-secret',
        target: `webhooks/${id}`,
        outcome: 'success',
        details: { previousSecretValidUntil: until }
      })
    })
    return { webhook: await this.get(id, caller.principal), secret }
  }

  async deliveries (id: string, query: WebhookDeliveryQueryType, principal: Principal): Promise<PageOf<WebhookDelivery>> {
    await this.visible(this.store.repos, id, principal)
    const page = await this.store.repos.webhooks.deliveries(id, query)
    const attempts = await this.store.repos.webhooks.attempts(page.items.map((d) => d.id))
    return { items: page.items.map((d) => toDelivery(d, attempts.get(d.id)!)), nextCursor: page.nextCursor }
  }

  /** Sends a delivered, failed or cancelled delivery again: the same event, the same `webhook-id`. */
  async retry (id: string, deliveryId: string, caller: Caller): Promise<WebhookDelivery> {
    await this.store.work(async (u) => {
      await this.visible(u, id, caller.principal)
      const d = await u.webhooks.delivery(deliveryId)
      if (!d || d.subscription_id !== id) throw notFound('delivery', deliveryId)
      if (!await u.webhooks.requeue(deliveryId)) {
        throw new AppError('DELIVERY_PENDING', `the delivery is ${d.state}: it will be sent (again) without being asked`)
      }
      await u.audit.record({
        ...caller.ctx, action: 'webhook.retry', target: `webhooks/${id}/deliveries/${deliveryId}`, outcome: 'success', details: { eventType: d.event_type }
      })
    })
    const d = (await this.store.repos.webhooks.delivery(deliveryId))!
    return toDelivery(d, (await this.store.repos.webhooks.attempts([deliveryId])).get(deliveryId)!)
  }

  /** Sends every due delivery, several at a time. Returns how many it handled. */
  async runDue (): Promise<number> {
    // Nothing unsent (the usual case, polled every few seconds): no unit of work, no write lock taken.
    if (await this.store.repos.webhooks.nextDueAt() === undefined) return 0
    let handled = 0
    const lane = async (): Promise<void> => {
      for (;;) {
        const claimed = await this.store.work((u) => u.webhooks.claimDue(nowIso(), new Date(Date.now() + this.leaseMs()).toISOString()))
        if (!claimed) return
        await this.sendOne(claimed)
        handled++
      }
    }
    await Promise.all(Array.from({ length: this.options.concurrency ?? 4 }, lane))
    return handled
  }

  /** When the next delivery is due (for tests and the worker). */
  nextDueAt (): Promise<string | undefined> {
    return this.store.repos.webhooks.nextDueAt()
  }

  /** A claim outlives the longest attempt: a process that died mid-send leaves it for another to take over soon after. */
  private leaseMs (): number {
    return this.options.timeoutMs + 5000
  }

  /**
   * Sends a claimed delivery and records the outcome. The claim has committed
   * before anything leaves, and no unit of work is open during the request.
   */
  private async sendOne (d: ClaimedWebhook): Promise<void> {
    const sub = await this.store.repos.webhooks.get(d.subscription_id)
    if (!sub || sub.enabled === 0) {
      await this.store.work((u) => u.webhooks.cancelClaimed(d.id))
      return
    }
    const timestamp = Math.floor(Date.now() / 1000)
    const startedAt = new Date()
    const response = await this.sender.send({
      url: sub.url,
      body: d.payload,
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'webhook-id': d.event_id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': webhookSignature(this.signingSecrets(sub), d.event_id, timestamp, d.payload)
      }
    })
    const outcome = this.judge(response, d.attempts)
    const attempt: WebhookAttemptRow = {
      delivery_id: d.id,
      attempt: d.attempts,
      started_at: startedAt.toISOString(),
      duration_ms: Date.now() - startedAt.getTime(),
      status_code: response.kind === 'answered' ? response.status : null,
      error: outcome.state === 'delivered' ? null : outcome.error
    }
    await this.store.work(async (u) => {
      if (!await u.webhooks.settle(d.id, outcome)) return // the lease ran out and another process took it over
      await u.webhooks.recordAttempt(attempt)
      if (outcome.state === 'delivered') await u.webhooks.resetFailures(sub.id)
      else if (outcome.state === 'failed') await this.countFailure(u, sub, outcome.error)
    })
  }

  /** What an answer means: delivered (2xx), try again (timeouts, connection errors, 408, 429, 5xx), or failed for good. */
  private judge (r: WebhookResponse, attempt: number):
  | { state: 'delivered', status: number }
  | { state: 'retrying', status: number | null, error: string, nextAttemptAt: string }
  | { state: 'failed', status: number | null, error: string } {
    const status = r.kind === 'answered' ? r.status : null
    if (r.kind === 'answered' && status! >= 200 && status! < 300) return { state: 'delivered', status: status! }
    let error: string
    let retryable: boolean
    let retryAfterMs: number | null = null
    if (r.kind === 'refused') {
      error = r.error
      retryable = false
    } else if (r.kind === 'unreachable') {
      error = r.error
      retryable = true
    } else if (status! >= 300 && status! < 400) {
      error = `the receiver answered ${status} (a redirect${r.location ? ` to ${displayUrl(r.location)}` : ''}): redirects are not followed; update the URL`
      retryable = false
    } else {
      retryable = status === 408 || status === 429 || status! >= 500
      retryAfterMs = r.retryAfterMs
      error = `the receiver answered ${status}`
    }
    if (!retryable) return { state: 'failed', status, error }
    if (attempt >= this.options.maxAttempts) return { state: 'failed', status, error: `gave up after ${attempt} attempts: ${error}` }
    // Exponential backoff with jitter (base·2^(n-1), scaled by 50–100 %), or the receiver's Retry-After; at most an hour.
    const backoff = Math.min(MAX_BACKOFF_MS, this.options.retryBaseMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2)
    const delay = retryAfterMs === null ? backoff : Math.min(MAX_BACKOFF_MS, Math.max(retryAfterMs, this.options.retryBaseMs))
    return { state: 'retrying', status, error, nextAttemptAt: new Date(Date.now() + delay).toISOString() }
  }

  /** A delivery failed for good: counted, and after `disableAfterFailures` in a row the subscription is disabled (audited). */
  private async countFailure (u: Unit, sub: SubscriptionRow, error: string): Promise<void> {
    const failures = await u.webhooks.countFailure(sub.id)
    if (failures < this.options.disableAfterFailures) return
    const current = await u.webhooks.get(sub.id)
    if (!current || current.enabled === 0) return
    const reason = `${failures} deliveries in a row failed; the last: ${error}`
    await u.webhooks.update(sub.id, { enabled: 0, disabled_reason: reason })
    await u.audit.record({ ...SYSTEM_CONTEXT, action: 'webhook.disabled', target: `webhooks/${sub.id}`, outcome: 'success', details: { failures, reason } })
  }

  /** The secrets that sign now: the current one, and the previous one during a rotation's overlap. */
  private signingSecrets (sub: SubscriptionRow): string[] {
    const secrets = [this.open(sub.secret, sub.id)]
    if (sub.previous_secret !== null && sub.previous_secret_until !== null && sub.previous_secret_until > nowIso()) {
      secrets.push(this.open(sub.previous_secret, sub.id))
    }
    return secrets
  }

  private seal (secret: string, id: string): string {
    const key = this.options.keyEncryptionSecret
    return key === undefined ? secret : encryptSecret(secret, key, `webhook:${id}`)
  }

  private open (stored: string, id: string): string {
    if (stored.startsWith('whsec_')) return stored
    let secret = this.secrets.get(stored)
    if (secret === undefined) {
      const key = this.options.keyEncryptionSecret
      if (key === undefined) throw new Error('a webhook secret is encrypted and RA_KEY_ENCRYPTION_SECRET is not set')
      secret = decryptSecret(stored, key, `webhook:${id}`)
      this.secrets.set(stored, secret)
    }
    return secret
  }

  /** 422 WEBHOOK_URL_REFUSED when the URL or an address it resolves to now may not receive webhooks. */
  private async checkUrl (url: string): Promise<void> {
    const problem = webhookUrlProblem(url, this.options.allowHttp) ?? await this.sender.addressProblem(url)
    if (problem) throw new AppError('WEBHOOK_URL_REFUSED', `url: ${problem}`, { field: 'url' })
  }

  /** The administrator sees every subscription; an integration only its own (others are "not found"). */
  private async visible (repos: Pick<Unit, 'webhooks'>, id: string, principal: Principal): Promise<SubscriptionRow> {
    const row = await repos.webhooks.get(id)
    if (!row || (principal.kind !== 'admin' && row.owner !== ownerOf(principal))) throw notFound('webhook', id)
    return row
  }
}

function ownerOf (principal: Principal): string {
  switch (principal.kind) {
    case 'admin': return 'admin'
    case 'integration': return `integration:${principal.name}`
    case 'user': return `user:${principal.name}`
  }
}

/** A URL as audit events and errors show it: no query string (it may carry the receiver's own token). */
function displayUrl (url: string): string {
  if (!URL.canParse(url)) return '(not a URL)'
  const u = new URL(url)
  return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`
}

function toWebhook (r: SubscriptionRow, events: string[]): Webhook {
  return {
    id: r.id,
    url: r.url,
    description: r.description,
    events: events as Webhook['events'],
    enabled: r.enabled === 1,
    owner: r.owner,
    consecutiveFailures: r.consecutive_failures,
    disabledReason: r.disabled_reason,
    previousSecretValidUntil: r.previous_secret !== null && r.previous_secret_until !== null && r.previous_secret_until > nowIso()
      ? r.previous_secret_until
      : null,
    createdAt: r.created_at,
    createdBy: r.created_by,
    updatedAt: r.updated_at
  }
}

function toDelivery (d: WebhookDeliveryRow, attempts: WebhookAttemptRow[]): WebhookDelivery {
  return {
    id: d.id,
    webhookId: d.event_id,
    eventType: d.event_type as WebhookDelivery['eventType'],
    state: d.state,
    attempts: attempts.map((a) => ({ attempt: a.attempt, at: a.started_at, durationMs: a.duration_ms, statusCode: a.status_code, error: a.error })),
    nextAttemptAt: d.state === 'queued' || d.state === 'retrying' ? d.next_attempt_at : null,
    lastStatusCode: d.last_status,
    lastError: d.last_error,
    deliveredAt: d.delivered_at,
    createdAt: d.created_at
  }
}
