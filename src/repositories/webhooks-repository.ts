import { nowIso } from '../db/database.js'
import { type DirectoryCache, type Freshness, lookupIn, type Lookup } from '../db/directory-cache.js'
import { newId } from '../db/ids.js'
import type { Sql } from '../db/storage.js'
import type { WebhookEventType } from '../domain/webhooks.js'
import { decodeCursor, pageOf, type PageOf, placeholders, whereOf } from './paging.js'

export interface SubscriptionRow {
  id: string
  url: string
  description: string | null
  enabled: number
  owner: string
  /** Stored form (encrypted when RA_KEY_ENCRYPTION_SECRET is set): only the service reads it. */
  secret: string
  previous_secret: string | null
  previous_secret_until: string | null
  consecutive_failures: number
  disabled_reason: string | null
  created_by: string
  created_at: string
  updated_at: string
}

export type WebhookDeliveryState = 'queued' | 'sending' | 'retrying' | 'delivered' | 'failed' | 'cancelled'

export interface WebhookDeliveryRow {
  id: string
  subscription_id: string
  event_id: string
  state: WebhookDeliveryState
  attempts: number
  next_attempt_at: string | null
  lease_until: string | null
  last_status: number | null
  last_error: string | null
  delivered_at: string | null
  created_at: string
  updated_at: string
  event_type: string
}

/** A claimed delivery with what the worker sends: the event's stored payload. */
export interface ClaimedWebhook extends WebhookDeliveryRow {
  payload: string
  occurred_at: string
}

export interface WebhookAttemptRow {
  delivery_id: string
  attempt: number
  started_at: string
  duration_ms: number
  status_code: number | null
  error: string | null
}

const DUE = '((state IN (\'queued\', \'retrying\') AND next_attempt_at <= ?) OR (state = \'sending\' AND lease_until <= ?))'
const DELIVERY = 'SELECT d.*, e.type AS event_type FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id'
const SUBSCRIBERS = `SELECT e.subscription_id FROM webhook_subscription_events e
  JOIN webhook_subscriptions s ON s.id = e.subscription_id WHERE e.event_type = ? AND s.enabled = 1 ORDER BY e.subscription_id`

/**
 * Webhook subscriptions and their durable outbox. `publish` writes an event
 * and one delivery per enabled subscription that asked for its type, in the
 * unit of work of the change it reports; the worker claims due deliveries
 * with a conditional update and a lease, as the e-mail outbox does.
 */
export class WebhooksRepository {
  private readonly cachedSubscribers: Lookup<readonly string[]>

  constructor (
    private readonly sql: Sql,
    /** Called once the unit that queued deliveries has committed (wakes this process's worker); absent outside a unit. */
    private readonly queued: (() => void) | undefined = undefined,
    /** null: `subscribers` reads the database (a unit of work sees its own changes). */
    cache: DirectoryCache | null = null
  ) {
    this.cachedSubscribers = lookupIn<readonly string[]>(cache)
  }

  /**
   * The enabled subscriptions that asked for `type` (their ids), cached with the directory: migration 017's
   * triggers bump its version when a subscription's event types, its being enabled, or the subscription itself
   * change. Looked up before a unit of work (`since`: the request's mark) and given to `publish`, it spares the
   * unit a read: on PostgreSQL a round trip (a creation sends five statements instead of six).
   */
  async subscribers (type: WebhookEventType, since?: Freshness): Promise<readonly string[]> {
    const ids = await this.cachedSubscribers(type, async () =>
      Object.freeze((await this.sql.all<{ subscription_id: string }>(SUBSCRIBERS, type)).map((r) => r.subscription_id)), since)
    return ids ?? []
  }

  /**
   * Queues `type` for every enabled subscription that asked for it, with `data`
   * as the event's payload data. Returns the event id (the `webhook-id` of all
   * its deliveries), or null when no subscription wants it (nothing is written).
   * `known`: the subscribers as looked up before the unit (`subscribers`); each
   * delivery is then written only if its subscription, as this unit sees it,
   * still exists, is enabled and asks for `type`: one changed since is skipped,
   * and one made since is not told (as if the event had come just before it).
   */
  async publish (type: WebhookEventType, data: Record<string, unknown>, known?: readonly string[]): Promise<string | null> {
    const subscribers = known ?? (await this.sql.all<{ subscription_id: string }>(SUBSCRIBERS, type)).map((r) => r.subscription_id)
    if (subscribers.length === 0) return null
    const id = `msg_${newId()}`
    const now = nowIso()
    await this.sql.run('INSERT INTO webhook_events (id, type, occurred_at, payload) VALUES (?, ?, ?, ?)',
      id, type, now, JSON.stringify({ type, timestamp: now, data }))
    let deliveries = 0
    for (const subscriptionId of subscribers) {
      deliveries += await this.sql.run(`INSERT INTO webhook_deliveries (id, subscription_id, event_id, state, next_attempt_at, created_at, updated_at)
        SELECT ?, s.id, ?, 'queued', ?, ?, ? FROM webhook_subscriptions s JOIN webhook_subscription_events e ON e.subscription_id = s.id
        WHERE s.id = ? AND e.event_type = ? AND s.enabled = 1`, newId(), id, now, now, now, subscriptionId, type)
    }
    if (deliveries === 0) {
      // Every subscriber looked up before the unit has since gone: nothing is sent, so nothing is kept.
      await this.sql.run('DELETE FROM webhook_events WHERE id = ?', id)
      return null
    }
    this.queued?.()
    return id
  }

  async insert (
    row: Pick<SubscriptionRow, 'id' | 'url' | 'description' | 'enabled' | 'owner' | 'secret' | 'created_by'>,
    eventTypes: readonly string[]
  ): Promise<void> {
    const now = nowIso()
    await this.sql.run(`INSERT INTO webhook_subscriptions (id, url, description, enabled, owner, secret, created_by, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, row.id, row.url, row.description, row.enabled, row.owner, row.secret, row.created_by, now, now)
    await this.setEventTypes(row.id, eventTypes)
  }

  async setEventTypes (id: string, eventTypes: readonly string[]): Promise<void> {
    await this.sql.run('DELETE FROM webhook_subscription_events WHERE subscription_id = ?', id)
    for (const t of eventTypes) await this.sql.run('INSERT INTO webhook_subscription_events (subscription_id, event_type) VALUES (?, ?)', id, t)
  }

  async get (id: string): Promise<SubscriptionRow | undefined> {
    return await this.sql.get<SubscriptionRow>('SELECT * FROM webhook_subscriptions WHERE id = ?', id)
  }

  async eventTypes (ids: readonly string[]): Promise<Map<string, string[]>> {
    const byId = new Map<string, string[]>(ids.map((id) => [id, []]))
    if (ids.length === 0) return byId
    const rows = await this.sql.all<{ subscription_id: string, event_type: string }>(
      `SELECT subscription_id, event_type FROM webhook_subscription_events WHERE subscription_id IN (${placeholders(ids.length)})
      ORDER BY event_type`, ...ids)
    for (const r of rows) byId.get(r.subscription_id)!.push(r.event_type)
    return byId
  }

  /** Oldest first; `owner` narrows to one owner's. */
  async list (query: { limit: number, cursor?: string | undefined, owner?: string | undefined }): Promise<PageOf<SubscriptionRow>> {
    const cursor = decodeCursor(query.cursor, 2)
    const { where, args } = whereOf([
      ['owner = ?', query.owner],
      ['(created_at, id) > (?, ?)', cursor && [cursor[0]!, cursor[1]!]]
    ])
    const rows = await this.sql.all<SubscriptionRow>(`SELECT * FROM webhook_subscriptions ${where} ORDER BY created_at, id LIMIT ?`, ...args, query.limit + 1)
    return pageOf(rows, query.limit, (r) => [r.created_at, r.id], (page) => page)
  }

  async update (id: string, change: Partial<Pick<SubscriptionRow,
    'url' | 'description' | 'enabled' | 'secret' | 'previous_secret' | 'previous_secret_until' | 'consecutive_failures' | 'disabled_reason'
  >>): Promise<void> {
    const entries = Object.entries(change).filter(([, v]) => v !== undefined)
    if (entries.length === 0) return
    await this.sql.run(`UPDATE webhook_subscriptions SET ${entries.map(([k]) => `${k} = ?`).join(', ')}, updated_at = ? WHERE id = ?`,
      ...entries.map(([, v]) => v as string | number | null), nowIso(), id)
  }

  async delete (id: string): Promise<boolean> {
    return await this.sql.run('DELETE FROM webhook_subscriptions WHERE id = ?', id) === 1
  }

  /** A subscription's deliveries, newest first. */
  async deliveries (
    subscriptionId: string,
    query: { limit: number, cursor?: string | undefined, state?: string | undefined }
  ): Promise<PageOf<WebhookDeliveryRow>> {
    const cursor = decodeCursor(query.cursor, 2)
    const { where, args } = whereOf([
      ['d.subscription_id = ?', subscriptionId],
      ['d.state = ?', query.state],
      ['(d.created_at, d.id) < (?, ?)', cursor && [cursor[0]!, cursor[1]!]]
    ])
    const rows = await this.sql.all<WebhookDeliveryRow>(`${DELIVERY} ${where} ORDER BY d.created_at DESC, d.id DESC LIMIT ?`, ...args, query.limit + 1)
    return pageOf(rows, query.limit, (r) => [r.created_at, r.id], (page) => page)
  }

  async delivery (id: string): Promise<WebhookDeliveryRow | undefined> {
    return await this.sql.get<WebhookDeliveryRow>(`${DELIVERY} WHERE d.id = ?`, id)
  }

  async attempts (deliveryIds: readonly string[]): Promise<Map<string, WebhookAttemptRow[]>> {
    const byId = new Map<string, WebhookAttemptRow[]>(deliveryIds.map((id) => [id, []]))
    if (deliveryIds.length === 0) return byId
    const rows = await this.sql.all<WebhookAttemptRow>(
      `SELECT * FROM webhook_attempts WHERE delivery_id IN (${placeholders(deliveryIds.length)}) ORDER BY attempt`, ...deliveryIds)
    for (const r of rows) byId.get(r.delivery_id)!.push(r)
    return byId
  }

  /**
   * Claims one due delivery of an enabled subscription: queued or retrying and
   * due, or left in `sending` by a process that died (its lease ran out). Call
   * inside a unit of work (see DeliveriesRepository.claimDue).
   */
  async claimDue (now: string, leaseUntil: string): Promise<ClaimedWebhook | undefined> {
    const lock = this.sql.engine === 'postgres' ? ' FOR UPDATE OF d SKIP LOCKED' : ''
    // Due at the same moment (the events of one unit of work): in the order they were queued (ids are UUIDv7, in order).
    const row = await this.sql.get<{ id: string }>(`SELECT d.id FROM webhook_deliveries d
      JOIN webhook_subscriptions s ON s.id = d.subscription_id
      WHERE ${DUE.replace(/state|next_attempt_at|lease_until/g, 'd.$&')} AND s.enabled = 1 ORDER BY d.next_attempt_at, d.id LIMIT 1${lock}`, now, now)
    if (!row) return undefined
    const claimed = await this.sql.run(`UPDATE webhook_deliveries SET state = 'sending', attempts = attempts + 1, lease_until = ?, updated_at = ?
      WHERE id = ? AND ${DUE}`, leaseUntil, now, row.id, now, now) === 1
    if (!claimed) return undefined
    return await this.sql.get<ClaimedWebhook>(`SELECT d.*, e.type AS event_type, e.payload, e.occurred_at FROM webhook_deliveries d
      JOIN webhook_events e ON e.id = d.event_id WHERE d.id = ?`, row.id)
  }

  async recordAttempt (a: WebhookAttemptRow): Promise<void> {
    await this.sql.run(`INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (delivery_id, attempt) DO NOTHING`, a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.status_code, a.error)
  }

  /** The outcome of a claimed delivery's attempt; false when the claim was lost meanwhile (its lease ran out and another took it). */
  async settle (id: string, outcome:
  | { state: 'delivered', status: number }
  | { state: 'retrying', status: number | null, error: string, nextAttemptAt: string }
  | { state: 'failed', status: number | null, error: string }
  ): Promise<boolean> {
    const now = nowIso()
    return await this.sql.run(`UPDATE webhook_deliveries SET state = ?, last_status = ?, last_error = ?, next_attempt_at = ?,
        delivered_at = ?, lease_until = NULL, updated_at = ? WHERE id = ? AND state = 'sending'`,
    outcome.state, outcome.status, outcome.state === 'delivered' ? null : outcome.error,
    outcome.state === 'retrying' ? outcome.nextAttemptAt : null, outcome.state === 'delivered' ? now : null, now, id) === 1
  }

  /** A claimed delivery whose subscription went away or was disabled before it was sent. */
  async cancelClaimed (id: string): Promise<void> {
    await this.sql.run(`UPDATE webhook_deliveries SET state = 'cancelled', next_attempt_at = NULL, lease_until = NULL, updated_at = ?
      WHERE id = ? AND state = 'sending'`, nowIso(), id)
  }

  /** Counts a failure against the subscription; returns the count after it. */
  async countFailure (subscriptionId: string): Promise<number> {
    const row = await this.sql.get<{ consecutive_failures: number }>(`UPDATE webhook_subscriptions
      SET consecutive_failures = consecutive_failures + 1, updated_at = ? WHERE id = ? RETURNING consecutive_failures`, nowIso(), subscriptionId)
    return row?.consecutive_failures ?? 0
  }

  async resetFailures (subscriptionId: string): Promise<void> {
    await this.sql.run('UPDATE webhook_subscriptions SET consecutive_failures = 0 WHERE id = ? AND consecutive_failures <> 0', subscriptionId)
  }

  /** Queues a finished delivery again (a manual retry): the same event, so the same webhook-id. False when it is still pending. */
  async requeue (id: string): Promise<boolean> {
    const now = nowIso()
    return await this.sql.run(`UPDATE webhook_deliveries SET state = 'queued', next_attempt_at = ?, lease_until = NULL, updated_at = ?
      WHERE id = ? AND state IN ('delivered', 'failed', 'cancelled')`, now, now, id) === 1
  }

  /**
   * Deletes up to `limit` deliveries that ended (delivered, failed, cancelled) before `before`, with their attempts;
   * returns how many went. Their events go with `purgeEvents` once no delivery needs them.
   */
  purge (before: string, limit: number): Promise<number> {
    return this.sql.run(`DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries
      WHERE state IN ('delivered', 'failed', 'cancelled') AND updated_at < ? LIMIT ?)`, before, limit)
  }

  /** Deletes up to `limit` events from before `before` that no delivery needs any more; returns how many. */
  purgeEvents (before: string, limit: number): Promise<number> {
    return this.sql.run(`DELETE FROM webhook_events WHERE id IN (SELECT e.id FROM webhook_events e WHERE e.occurred_at < ?
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id) LIMIT ?)`, before, limit)
  }

  /** When the next delivery of an enabled subscription becomes due, for the worker. */
  async nextDueAt (): Promise<string | undefined> {
    const row = await this.sql.get<{ at: string | null }>(`SELECT min(CASE WHEN d.state = 'sending' THEN d.lease_until ELSE d.next_attempt_at END) AS at
      FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
      WHERE d.state IN ('queued', 'retrying', 'sending') AND s.enabled = 1`)
    return row?.at ?? undefined
  }
}
