import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { Checkpointer } from '../db/checkpointer.js'
import { CommitFailedError, enableGroupCommit } from '../db/group-commit.js'
import { createServices, openMigratedDatabase, type Services } from '../services/index.js'
import { OutboxWorker } from '../services/outbox-worker.js'

declare module 'fastify' {
  interface FastifyInstance {
    services: Services
  }
  interface FastifyRequest {
    /** The group-commit mark when the request arrived (see GroupCommit.failedSince). */
    storageMark: number
  }
}

export default fp<{ config: Config }>(async (fastify, { config }) => {
  const { db, applied } = openMigratedDatabase(config)
  if (applied.length > 0) fastify.log.info({ migrations: applied }, 'database migrated')
  const group = enableGroupCommit(db)
  // A request's unit of work: the groups it may have read or written, from the one open when it arrived on.
  // Nothing is acknowledged before they are committed: a response waits for the group it may have seen; when
  // one of them failed (also while the handler was still awaiting), a success or an internal error becomes
  // 503 STORAGE_UNAVAILABLE. A refusal (4xx) claimed no change and stands.
  fastify.decorateRequest('storageMark', 0)
  fastify.addHook('onRequest', (request, _reply, done) => {
    request.storageMark = group.mark()
    done()
  })
  fastify.addHook('onSend', async (request, reply, payload) => {
    const claimsChange = reply.statusCode < 400 || reply.statusCode === 500
    if (group.pending) {
      try {
        await group.committed()
      } catch (err) {
        if (claimsChange) throw err
      }
    }
    if (claimsChange && group.failedSince(request.storageMark)) throw new CommitFailedError(new Error('a commit this request depended on failed'))
    return payload
  })
  const services = createServices(db, config)
  try {
    const keys = await services.tickets.init()
    if (keys.generated) fastify.log.info('generated a ticket-signing key')
    if (keys.encryptedNow > 0) fastify.log.info({ keys: keys.encryptedNow }, 'encrypted stored signing keys with RA_KEY_ENCRYPTION_SECRET')
  } catch (err) {
    db.close()
    throw err
  }
  if (config.keyEncryptionSecret === undefined) fastify.log.warn('RA_KEY_ENCRYPTION_SECRET is not set: ticket-signing keys are stored in clear in the database')
  const checkpoints = config.dbCheckpointIntervalMs > 0
    ? new Checkpointer(db, config.databaseFile, {
      intervalMs: config.dbCheckpointIntervalMs,
      busyTimeoutMs: config.dbBusyTimeoutMs,
      onError: (message) => fastify.log.warn({ error: message }, 'WAL checkpoint failed')
    })
    : null
  services.checkpoints = checkpoints
  fastify.decorate('services', services)

  // Invitations that ended unredeemed are purged after the retention period; their audit events stay.
  const purge = () => {
    const before = new Date(Date.now() - config.invitationRetentionDays * 86_400_000).toISOString()
    const purged = services.repos.invitations.purge(before)
    if (purged > 0) fastify.log.info({ purged }, 'purged ended invitations past retention')
    // Limit windows last a minute: an hour-old one is long over.
    services.repos.limits.purge(Date.now() - 3_600_000)
  }
  purge()
  const timer = setInterval(purge, 3_600_000)
  timer.unref()
  // Timeouts take effect (and reach live streams) without anyone asking.
  const sweeper = setInterval(() => {
    try { services.sessions.sweep() } catch (err) { fastify.log.error({ err }, 'session sweep failed') }
  }, 1000)
  sweeper.unref()
  services.outbox = new OutboxWorker(() => services.deliveries.runDue(), config.delivery.pollMs, fastify.log)
  fastify.addHook('onReady', async () => { services.outbox?.start() })
  if (services.mailer.kind === 'smtp') fastify.log.info('invitation e-mail goes to the SMTP server in RA_SMTP_URL')
  else fastify.log.info({ mailDir: config.mailDir }, 'no RA_SMTP_URL: invitation e-mail is written as .eml files')
  // Last hook to run on close: in-flight requests have finished by then; the send in progress is recorded.
  fastify.addHook('onClose', async () => {
    clearInterval(timer)
    clearInterval(sweeper)
    await services.outbox?.stop()
    services.mailer.close()
    group.flush()
    await checkpoints?.stop()
    db.close()
  })
}, { name: 'storage' })
