import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { Checkpointer } from '../db/checkpointer.js'
import { SqliteStorage } from '../db/sqlite-storage.js'
import { openServices, type Services } from '../services/index.js'
import { OutboxWorker } from '../services/outbox-worker.js'

declare module 'fastify' {
  interface FastifyInstance {
    services: Services
  }
}

/**
 * The storage and the services over it, and the work that runs without a
 * request: purges, the session sweeper, the outbox. Nothing is acknowledged
 * before it is committed: every change is a unit of work that resolves only
 * once committed (Storage.unitOfWork), and a failed commit is answered 503
 * STORAGE_UNAVAILABLE.
 */
export default fp<{ config: Config }>(async (fastify, { config }) => {
  const { services, applied } = await openServices(config, (err) => fastify.log.error({ err }, 'work started by a change failed'))
  const { storage } = services
  if (applied.length > 0) fastify.log.info({ migrations: applied }, 'database migrated')
  try {
    const keys = await services.tickets.init()
    if (keys.generated) fastify.log.info('generated a ticket-signing key')
    if (keys.encryptedNow > 0) fastify.log.info({ keys: keys.encryptedNow }, 'encrypted stored signing keys with RA_KEY_ENCRYPTION_SECRET')
  } catch (err) {
    await storage.close()
    throw err
  }
  if (config.keyEncryptionSecret === undefined) fastify.log.warn('RA_KEY_ENCRYPTION_SECRET is not set: ticket-signing keys are stored in clear in the database')
  const checkpoints = storage instanceof SqliteStorage && config.dbCheckpointIntervalMs > 0
    ? new Checkpointer(storage.writer, config.databaseFile, {
      intervalMs: config.dbCheckpointIntervalMs,
      busyTimeoutMs: config.dbBusyTimeoutMs,
      onError: (message) => fastify.log.warn({ error: message }, 'WAL checkpoint failed')
    })
    : null
  services.checkpoints = checkpoints
  await services.sessions.listenToOtherInstances()
  fastify.decorate('services', services)

  // Invitations that ended unredeemed are purged after the retention period (their audit events stay), with ended
  // webhook deliveries and old limit windows: at start and hourly, in the background. A start does not wait for it:
  // a backlog (weeks down, a shortened retention) of 660,000 invitations took longer than a plugin may take to
  // start, and the service never started. Each table goes PURGE_BATCH rows at a time, each batch a statement (so a
  // transaction) of its own, so that requests' writes go between them. One instance at a time (Storage.exclusively); a failure is
  // logged and retried next time.
  let closing = false
  /** Runs `purge` a batch at a time until a batch comes back short (or the service closes); returns how many went. */
  const inBatches = async (purge: (limit: number) => Promise<number>): Promise<number> => {
    let purged = 0
    for (;;) {
      const batch = await purge(PURGE_BATCH)
      purged += batch
      if (batch < PURGE_BATCH || closing) return purged
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  const purgeOnce = async (): Promise<number> => {
    let purged = 0
    await storage.exclusively('purge', async () => {
      const { invitations, webhooks, limits } = services.repos
      const before = new Date(Date.now() - config.invitationRetentionDays * 86_400_000).toISOString()
      purged = await inBatches((n) => invitations.purge(before, n))
      if (purged > 0) fastify.log.info({ purged }, 'purged ended invitations past retention')
      // Webhook deliveries that ended, and their events, are kept as long (GET /v1/webhooks/{id}/deliveries shows them).
      const deliveries = await inBatches((n) => webhooks.purge(before, n))
      const events = await inBatches((n) => webhooks.purgeEvents(before, n))
      if (deliveries + events > 0) fastify.log.info({ deliveries, events }, 'purged ended webhook deliveries past retention')
      // Limit windows last a minute: an hour-old one is long over.
      const windowsBefore = Date.now() - 3_600_000
      await inBatches((n) => limits.purge(windowsBefore, n))
    })
    return purged
  }
  const purges = services.purges = new OutboxWorker(purgeOnce, 3_600_000, fastify.log, 'retention purge')
  // Timeouts take effect (and reach live streams) without anyone asking; a sweep still running is not started twice.
  let sweeping: Promise<void> | null = null
  const sweeper = setInterval(() => {
    sweeping ??= storage.exclusively('sweep', async () => {
      await services.sessions.sweep()
      await services.invitations.sweep()
    })
      .then(() => {}, (err: unknown) => fastify.log.error({ err }, 'session sweep failed'))
      .finally(() => { sweeping = null })
  }, config.sessions.sweepIntervalMs)
  sweeper.unref()
  services.outbox = new OutboxWorker(() => services.deliveries.runDue(), config.delivery.pollMs, fastify.log)
  // Webhooks: woken when a unit that queued deliveries commits here; due retries (and other instances' events) on the timer.
  const webhookWorker = services.webhookWorker = new OutboxWorker(() => services.webhooks.runDue(), config.delivery.pollMs, fastify.log)
  services.store.onWebhookQueued(() => webhookWorker.kick())
  fastify.addHook('onReady', async () => {
    services.outbox?.start()
    webhookWorker.start()
    purges.start()
  })
  if (services.mailer.kind === 'smtp') fastify.log.info('invitation e-mail goes to the SMTP server in RA_SMTP_URL')
  else fastify.log.info({ mailDir: config.mailDir }, 'no RA_SMTP_URL: invitation e-mail is written as .eml files')
  // Last hook to run on close: in-flight requests have finished by then; the send in progress is recorded.
  fastify.addHook('onClose', async () => {
    services.streams.close()
    closing = true
    await purges.stop() // ends after the batch under way
    clearInterval(sweeper)
    await sweeping
    await services.outbox?.stop()
    await webhookWorker.stop()
    await services.drain()
    services.mailer.close()
    await checkpoints?.stop()
    await storage.close()
  })
}, { name: 'storage' })

/** Rows (invitations, webhook deliveries, their events, limit windows) deleted per statement by the retention purge. */
const PURGE_BATCH = 1000
