import { readFileSync } from 'node:fs'
import { simpleParser } from 'mailparser'
import t from 'tap'
import { SqliteStorage } from '../../src/db/sqlite-storage.js'
import { decryptLhTicket, readInvitationFile } from '../../src/domain/invitation-file.js'
import { onlyOn } from '../engine.js'
import { atTime, type Json, outsideRows } from '../helper.js'
import { eventually, smtpServer, type SmtpServer } from '../smtp-helper.js'
import { world, type InvitationWorld } from './invitations-helper.js'

const FAST = { RA_DELIVERY_RETRY_BASE_MS: '20', RA_DELIVERY_POLL_MS: '20', RA_SMTP_TIMEOUT_MS: '2000' }
const smtpEnv = (smtp: SmtpServer, auth = '') => ({ ...FAST, RA_SMTP_URL: `smtp://${auth}127.0.0.1:${smtp.port}`, RA_SMTP_FROM: 'Remote Assistance <ra@contoso.com>' })

/** Wakes a wait whenever the app's outbox finished a run. */
const outboxRuns = (w: InvitationWorld) => ({ emitter: w.app.services.outbox!, event: 'run' })
const deliveries = async (w: InvitationWorld, id: string): Promise<Json[]> =>
  (await w.call('GET', `/v1/invitations/${id}/deliveries`, undefined, w.alice)).json().items
const recipients = async (w: InvitationWorld, id: string): Promise<Json[]> => (await deliveries(w, id)).flatMap((d) => d.recipients)
const allIn = (w: InvitationWorld, id: string, state: string) =>
  eventually(async () => {
    const r = await recipients(w, id)
    return r.length > 0 && r.every((x) => x.state === state) && r
  }, `every recipient ${state}`, outboxRuns(w))

t.test('S4 Mailto: the message carries the redeem link with the ticket in the fragment; the mailto: URI round-trips', async (t) => {
  const smtp = await smtpServer(t)
  await smtp.start()
  const w = await world(t, smtpEnv(smtp))
  const aliceId = (await w.call('GET', '/v1/users?limit=10')).json().items.find((u: Json) => u.name === 'CONTOSO\\alice').id
  await w.call('PATCH', `/v1/users/${aliceId}`, { displayName: 'Alice Novice' })
  const res = await w.call('POST', '/v1/invitations', {
    computer: 'CONTOSO\\PC-XP',
    password: 'Password1',
    delivery: { recipients: ['bob@contoso.com', 'helpdesk@contoso.com'], message: 'Printer <b>again</b> & "urgent"\nThanks!' }
  }, w.alice)
  t.equal(res.statusCode, 201, res.body)
  const { invitation, ticket, delivery } = res.json()
  t.equal(delivery.delivery.method, 'mailto', 'XP without policy: Mailto')
  t.ok(delivery.delivery.recipients.every((r: Json) => ['queued', 'sending', 'sent'].includes(r.state) && /^<.+@.+>$/.test(r.messageId)), 'stored with the invitation, each with its Message-ID')
  const firstIds = delivery.delivery.recipients.map((r: Json) => r.messageId)

  const sent = await allIn(w, invitation.id, 'sent')
  t.equal(smtp.received.length, 2)
  t.same(sent.map((r) => r.messageId), firstIds, 'the Message-IDs given at queueing')
  t.ok(sent.every((r) => /^250/.test(r.serverReply)), 'the server\'s reply is recorded')
  for (const mail of smtp.received) {
    const p = mail.parsed
    t.equal(p.subject, 'YOU HAVE RECEIVED A REMOTE ASSISTANCE INVITATION FROM: Alice Novice (CONTOSO\\alice)')
    t.ok(firstIds.includes(p.messageId), 'Message-ID as recorded')
    t.match(p.text, 'CONTOSO\\PC-XP')
    t.match(p.text, `/redeem#ticket=${ticket}`, 'the link, with the ticket in the fragment')
    t.match(p.text, 'protected by a password')
    t.match(p.html, 'Printer &lt;b&gt;again&lt;/b&gt; &amp; &quot;urgent&quot;', 'the personal message, escaped')
    t.notMatch(mail.raw, 'Password1', 'never the password')
    t.equal(p.attachments.length, 0, 'Mailto has no attachment')
    t.same(p.from?.value, [{ address: 'ra@contoso.com', name: 'Remote Assistance' }])
  }
  t.same(smtp.received.map((m) => m.to).sort(), [['bob@contoso.com'], ['helpdesk@contoso.com']], 'one message per recipient')

  const uri = new URL(delivery.mailtoUri)
  t.equal(uri.protocol, 'mailto:')
  t.equal(decodeURIComponent(uri.pathname), 'bob@contoso.com,helpdesk@contoso.com')
  t.equal(uri.searchParams.get('subject'), smtp.received[0]!.parsed.subject)
  t.equal(uri.searchParams.get('body')!.replace(/\r\n/g, '\n'), smtp.received[0]!.parsed.text!.replace(/\r\n/g, '\n').trimEnd())
  t.notMatch(delivery.mailtoUri, / |\n/, 'percent-encoded')
  t.notMatch(JSON.stringify((await w.call('GET', '/v1/audit-events?limit=500')).json()), ticket, 'no ticket in the audit trail')
})

t.test('S4 SMAPI: Windows 10 gets the invitation file attached, in the [MS-RAI] layout', async (t) => {
  const smtp = await smtpServer(t)
  await smtp.start()
  const w = await world(t, smtpEnv(smtp))
  const created = await w.invite({ password: 'Password1', lifetime: { value: 90, unit: 'minutes' } })
  const res = await w.call('POST', `/v1/invitations/${created.invitation.id}/deliveries`, { recipients: ['bob@contoso.com'] }, w.alice)
  t.equal(res.statusCode, 201, res.body)
  t.equal(res.json().delivery.method, 'smapi', 'Vista and later: SMAPI')
  t.equal(res.json().mailtoUri, undefined)
  await allIn(w, created.invitation.id, 'sent')
  const mail = smtp.received[0]!
  t.equal(mail.parsed.attachments.length, 1)
  const attachment = mail.parsed.attachments[0]!
  t.equal(attachment.filename, 'RAInvitation.msrcincident')
  const file = readInvitationFile(attachment.content)
  t.equal(file.rcTicket.parms, created.ticket, 'RCTICKET carries the signed ticket')
  t.equal(file.rcTicket.id, created.invitation.id)
  t.equal(file.rcTicket.addresses, `127.0.0.1:${w.config.port}`)
  // Issue 17: without connection data nothing in the file is encrypted, so it no longer claims to be.
  t.equal(file.encrypted, false, 'RCTICKETENCRYPTED=0: no LHTICKET without connection data')
  t.equal(file.dtLength, 90)
  t.equal(file.dtStart, Date.parse(created.invitation.createdAt) / 1000)
  t.equal(file.username, 'CONTOSO\\alice')
  t.notMatch(mail.raw, 'Password1')
  t.notMatch(attachment.content.toString('latin1'), 'Password1')
  t.equal((await w.redeem(file.rcTicket.parms, 'Password1')).statusCode, 201, 'the ticket from the file redeems')
})

t.test('S4 SMAPI: with the agent\'s connection data, the attachment is a real invitation file with its LHTICKET', async (t) => {
  const smtp = await smtpServer(t)
  await smtp.start()
  const w = await world(t, smtpEnv(smtp))
  const connection = { addresses: ['192.168.1.200:49230'], sessionId: 'c2Vzc2lvbg==', keyHash: 'BNRjdu97DyczQSRuMRrDWoue+HA=' }
  const created = await w.invite({ password: 'Password1', connection, delivery: { recipients: ['bob@contoso.com'] } })
  await allIn(w, created.invitation.id, 'sent')
  const file = readInvitationFile(smtp.received[0]!.parsed.attachments[0]!.content)
  t.equal(file.rcTicket.addresses, '192.168.1.200:49230')
  t.equal(file.rcTicket.id, 'c2Vzc2lvbg==')
  t.equal(file.rcTicket.parms, created.ticket)
  t.equal(file.encrypted, true)
  t.match(decryptLhTicket(file.lhTicket!, 'Password1'), '<L P="49230" N="192.168.1.200"/>', 'made at creation, sent later by the outbox')
  t.match(file.passStub, /^\S{14}$/)
})

t.test('SMTP down: invitations are still created; when the server comes back each recipient gets exactly one message with its first Message-ID', async (t) => {
  const smtp = await smtpServer(t) // not started
  const w = await world(t, smtpEnv(smtp))
  const created: Json[] = []
  for (let i = 0; i < 3; i++) {
    const r = await w.call('POST', '/v1/invitations', {
      computer: 'CONTOSO\\PC-10',
      delivery: { recipients: ['bob@contoso.com', 'carol@contoso.com'] }
    }, w.alice)
    t.equal(r.statusCode, 201)
    created.push(r.json())
  }
  const waiting = await eventually(async () => {
    const r = await recipients(w, created[0].invitation.id)
    return r.every((x) => x.state === 'retrying' && x.attempts >= 2 && x.lastError && x.nextAttemptAt) && r
  }, 'retries while the server is down', outboxRuns(w))
  t.match(waiting[0].lastError, /ECONNECTION|ECONNREFUSED|ESOCKET/)
  const idsBefore = created.flatMap((c) => c.delivery.delivery.recipients.map((r: Json) => r.messageId))

  await smtp.start()
  for (const c of created) await allIn(w, c.invitation.id, 'sent')
  await w.app.services.outbox?.idle()
  t.equal(smtp.received.length, 6, 'exactly one message per recipient')
  t.same(smtp.received.map((m) => m.parsed.messageId).sort(), [...idsBefore].sort(), 'with the Message-IDs first given')
})

t.test('a temporary rejection (451) is retried; a permanent one (550) ends in failed with the server\'s reason', async (t) => {
  const smtp = await smtpServer(t)
  await smtp.start()
  smtp.mode = 'temporary'
  const w = await world(t, smtpEnv(smtp))
  const a = await w.invite({ delivery: { recipients: ['bob@contoso.com'] } })
  const retrying = await eventually(async () => {
    const [r] = await recipients(w, a.invitation.id)
    return r.state === 'retrying' && r
  }, 'retrying', outboxRuns(w))
  t.match(retrying.lastError, /451/)
  smtp.mode = 'accept'
  const [sent] = await allIn(w, a.invitation.id, 'sent')
  t.ok(sent.attempts >= 2)

  smtp.mode = 'permanent'
  const b = await w.invite({ delivery: { recipients: ['nobody@contoso.com'] } })
  const [failed] = await allIn(w, b.invitation.id, 'failed')
  t.match(failed.lastError, /550.*No such user here/)
  t.equal(failed.attempts, 1, 'no retry after a permanent failure')
  const audit = (await w.call('GET', '/v1/audit-events?action=delivery.failed')).json().items
  t.match(audit[0].details, { recipient: 'nobody@contoso.com', reason: /550/ })
})

t.test('temporary failures give up after the last attempt', async (t) => {
  const smtp = await smtpServer(t)
  await smtp.start()
  smtp.mode = 'temporary'
  const w = await world(t, { ...smtpEnv(smtp), RA_DELIVERY_MAX_ATTEMPTS: '3' })
  const a = await w.invite({ delivery: { recipients: ['bob@contoso.com'] } })
  const [failed] = await allIn(w, a.invitation.id, 'failed')
  t.equal(failed.attempts, 3)
  t.match(failed.lastError, /gave up after 3 attempts.*451/)
})

t.test('revoking cancels what is not yet sent; nothing goes out afterwards', async (t) => {
  const smtp = await smtpServer(t) // down
  // The next attempt a minute away: the revocation finds the recipient waiting, not claimed by the worker that
  // very moment (a message already being handed to the mail server is past cancelling).
  const w = await world(t, { ...smtpEnv(smtp), RA_DELIVERY_RETRY_BASE_MS: '60000' })
  const a = await w.invite({ delivery: { recipients: ['bob@contoso.com'] } })
  // Revoke while the recipient waits for its next attempt.
  await eventually(async () => (await recipients(w, a.invitation.id))[0].state === 'retrying', 'a retry', outboxRuns(w))
  await w.call('DELETE', `/v1/invitations/${a.invitation.id}`, undefined, w.alice)
  await smtp.start()
  const [cancelled] = await allIn(w, a.invitation.id, 'cancelled')
  t.equal(cancelled.state, 'cancelled')
  await w.app.services.outbox?.idle()
  t.equal(smtp.received.length, 0)
  t.ok((await w.call('GET', '/v1/audit-events?action=delivery.cancelled')).json().items.length >= 1)
})

t.test('redeeming cancels its invitation\'s unsent e-mail in the same commit, reading only that invitation\'s recipients', async (t) => {
  const smtp = await smtpServer(t) // down
  const w = await world(t, { ...smtpEnv(smtp), RA_DELIVERY_RETRY_BASE_MS: '60000' })
  const a = await w.invite({ delivery: { recipients: ['bob@contoso.com'] } })
  const other = await w.invite({ delivery: { recipients: ['carol@contoso.com'] } })
  await eventually(async () => (await recipients(w, a.invitation.id))[0].state === 'retrying', 'a retry', outboxRuns(w))
  // The statements the redemption sends, as SQLite prepares them.
  const storage = w.app.services.storage
  const sent: string[] = []
  let recording = true
  if (storage instanceof SqliteStorage) {
    const prepare = storage.writer.prepare.bind(storage.writer)
    storage.writer.prepare = ((source: string) => { if (recording) sent.push(source); return prepare(source) }) as typeof prepare
    t.teardown(() => { storage.writer.prepare = prepare })
  }
  // The worker stopped: its sweep cancels an ended invitation's mail too, and so does reading it through the API.
  await w.app.services.outbox!.stop()
  t.equal((await w.redeem(a.ticket)).statusCode, 201)
  recording = false
  // As stored, before anything reads it through the API.
  t.same(await outsideRows(w.config, 'SELECT r.state FROM delivery_recipients r JOIN deliveries d ON d.id = r.delivery_id WHERE d.invitation_id = ?',
    a.invitation.id), [{ state: 'cancelled' }], 'cancelled by the redemption\'s own unit of work')
  t.equal((await recipients(w, a.invitation.id))[0].state, 'cancelled', 'the redeemed invitation\'s e-mail is cancelled')
  t.not((await recipients(w, other.invitation.id))[0].state, 'cancelled', 'another invitation\'s is not')
  const target = `invitations/${a.invitation.id}/deliveries/${a.delivery.delivery.id}`
  const audit = (await w.call('GET', `/v1/audit-events?action=delivery.cancelled&target=${target}`)).json()
  t.match(audit.items, [{ details: { recipient: 'bob@contoso.com' } }])
  if (storage instanceof SqliteStorage) {
    // During a mail outage every queued recipient of every invitation is read otherwise: 25 ms per redemption for 20,000,
    // holding the write lock. The cancel must start from the invitation's deliveries.
    const cancel = [...new Set(sent.filter((sql) => sql.startsWith('UPDATE delivery_recipients') && sql.includes('invitation_id = ?')))]
    t.equal(cancel.length, 1, 'a statement cancels the invitation\'s own recipients (the sweep, on its timer, cancels the rest)')
    const plan = (storage.reader.prepare(`EXPLAIN QUERY PLAN ${cancel[0]!}`).all('2026-01-01T00:00:00.000Z', a.invitation.id) as Array<{ detail: string }>)
      .map((r) => r.detail).join(' | ')
    t.match(plan, /deliveries_invitation/, plan)
    t.notMatch(plan, /delivery_recipients_due/, 'not through the index of every queued recipient')
  }
})

t.test('reading an open invitation\'s deliveries, file or mailto link writes nothing; once it has ended, its unsent mail shows cancelled', async (t) => {
  const smtp = await smtpServer(t) // down
  const w = await world(t, { ...smtpEnv(smtp), RA_DELIVERY_RETRY_BASE_MS: '60000' })
  const a = await w.invite({ lifetime: { value: 1, unit: 'hours' }, delivery: { recipients: ['bob@contoso.com'] } })
  await eventually(async () => (await recipients(w, a.invitation.id))[0].state === 'retrying', 'a retry', outboxRuns(w))
  // Nothing else writes meanwhile: the workers are stopped, the purge has run.
  await w.app.services.outbox!.stop()
  await w.app.services.webhookWorker!.stop()
  await w.app.services.purges!.idle()
  const storage = w.app.services.storage
  const commits = storage.commits
  t.equal((await w.call('GET', `/v1/invitations/${a.invitation.id}/deliveries`, undefined, w.alice)).statusCode, 200)
  t.equal((await w.call('GET', `/v1/invitations/${a.invitation.id}/file`, undefined, w.alice)).statusCode, 200)
  t.equal((await w.call('GET', `/v1/invitations/${a.invitation.id}/mailto?to=bob@contoso.com`, undefined, w.alice)).statusCode, 200)
  t.equal(storage.commits, commits, 'no unit of work: each took one (and the write lock) before')
  // Ended by its time, with its e-mail still waiting for a retry: reading its deliveries records both.
  await atTime(Date.now() + 2 * 3_600_000, async () => {
    t.match(await recipients(w, a.invitation.id), [{ state: 'cancelled' }])
    t.equal((await w.call('GET', `/v1/invitations/${a.invitation.id}`, undefined, w.alice)).json().state, 'expired')
    const after = storage.commits
    t.match(await recipients(w, a.invitation.id), [{ state: 'cancelled' }])
    t.equal(storage.commits, after, 'reading an ended invitation\'s deliveries again writes nothing')
  })
})

t.test('the worker sweeps ended invitations\' unsent mail at most once a poll, not each time an invitation wakes it', onlyOn('sqlite'), async (t) => {
  const smtp = await smtpServer(t) // down: what is queued waits for a retry a minute away
  const w = await world(t, { ...smtpEnv(smtp), RA_DELIVERY_RETRY_BASE_MS: '60000', RA_DELIVERY_POLL_MS: '600000' })
  const storage = w.app.services.storage as SqliteStorage
  let sweeps = 0
  const prepare = storage.writer.prepare.bind(storage.writer)
  // The sweep's statement (cancelEnded): every queued recipient of every ended invitation.
  storage.writer.prepare = ((source: string) => { if (source.includes('i.state <> \'open\'')) sweeps++; return prepare(source) }) as typeof prepare
  t.teardown(() => { storage.writer.prepare = prepare })
  for (const to of ['bob@contoso.com', 'carol@contoso.com', 'dave@contoso.com']) {
    const a = await w.invite({ delivery: { recipients: [to] } }) // queues, and wakes the worker
    await eventually(async () => (await recipients(w, a.invitation.id))[0].state === 'retrying', 'a retry', outboxRuns(w))
  }
  t.equal(sweeps, 1, 'three wake-ups within one poll, one sweep')
})

t.test('durable: deliveries queued before a restart are sent by the next process, once', async (t) => {
  const dir = t.testdir()
  const smtp = await smtpServer(t) // down while the first process runs
  const first = await world(t, smtpEnv(smtp), dir)
  const a = await first.invite({ delivery: { recipients: ['bob@contoso.com'] } })
  const messageId = a.delivery.delivery.recipients[0].messageId
  await first.app.close()
  await smtp.start()
  const { build } = await import('../helper.js')
  const second = await build(t, smtpEnv(smtp), dir)
  await eventually(async () => smtp.received.length === 1, 'the message after the restart', { emitter: smtp.events, event: 'message' })
  await second.app.services.outbox?.idle()
  t.equal(smtp.received.length, 1)
  t.equal(smtp.received[0]!.parsed.messageId, messageId)
  const status = (await second.call('GET', `/v1/invitations/${a.invitation.id}/deliveries`)).json().items[0].recipients[0]
  t.equal(status.state, 'sent')
})

t.test('without SMTP the service writes .eml files that a mail parser reads back', async (t) => {
  const w = await world(t, FAST)
  const a = await w.invite({ computer: 'CONTOSO\\PC-XP', delivery: { recipients: ['bob@contoso.com'] } })
  const [sent] = await allIn(w, a.invitation.id, 'sent')
  t.match(sent.location, /mail[/\\][0-9a-f-]+\.eml$/)
  t.equal(sent.serverReply, `written to ${sent.location}`)
  const parsed = await simpleParser(readFileSync(sent.location))
  t.equal(parsed.messageId, sent.messageId)
  t.match(parsed.subject, /^YOU HAVE RECEIVED A REMOTE ASSISTANCE INVITATION FROM: CONTOSO\\alice$/)
  t.match(parsed.text, `#ticket=${a.ticket}`)
})

t.test('bad delivery input gets a clear 4xx and queues nothing', async (t) => {
  const w = await world(t, FAST)
  const open = await w.invite()
  const cases: Array<[Json, number, string]> = [
    [{ recipients: ['not-an-address'] }, 400, 'recipients[0]'],
    [{ recipients: ['bob@contoso.com\r\nBcc: eve@evil.example'] }, 400, 'recipients[0]'],
    [{ recipients: Array.from({ length: 11 }, (_, i) => `u${i}@contoso.com`) }, 400, 'recipients'],
    [{ recipients: [] }, 400, 'recipients'],
    [{ recipients: ['bob@contoso.com'], message: 'x'.repeat(2001) }, 400, 'message'],
    [{ recipients: ['bob@contoso.com', 'BOB@contoso.com'] }, 422, 'delivery.recipients[1]'],
    [{ recipients: ['bob@contoso.com'], method: 'mailto' }, 422, 'delivery.method'],
    [{ recipients: ['bob@contoso.com'], cc: ['x@y.z'] }, 400, 'cc']
  ]
  for (const [body, status, field] of cases) {
    const res = await w.call('POST', `/v1/invitations/${open.invitation.id}/deliveries`, body, w.alice)
    t.equal(res.statusCode, status, `${field}: ${res.body}`)
    t.equal(res.json().field, field)
  }
  const redeemed = await w.invite()
  await w.redeem(redeemed.ticket)
  const revoked = await w.invite()
  await w.call('DELETE', `/v1/invitations/${revoked.invitation.id}`, undefined, w.alice)
  for (const id of [redeemed.invitation.id, revoked.invitation.id]) {
    t.match(
      (await w.call('POST', `/v1/invitations/${id}/deliveries`, { recipients: ['bob@contoso.com'] }, w.alice)).json(),
      { statusCode: 409, code: 'INVITATION_NOT_OPEN' }
    )
  }
  t.equal(
    (await w.call('POST', `/v1/invitations/${open.invitation.id}/deliveries`, { recipients: ['bob@contoso.com'] }, w.carol)).statusCode,
    404,
    'not carol\'s invitation'
  )
  const lapsing = await w.invite({ lifetime: { value: 1, unit: 'minutes' } })
  await atTime(Date.parse(lapsing.invitation.expiresAt), async () => {
    t.match((await w.call('POST', `/v1/invitations/${lapsing.invitation.id}/deliveries`, { recipients: ['bob@contoso.com'] }, w.alice)).json(), { statusCode: 409, code: 'INVITATION_NOT_OPEN', message: /expired/ })
  })
  t.same(await deliveries(w, lapsing.invitation.id), [], 'nothing queued for the expired one')
  for (const id of [open.invitation.id, redeemed.invitation.id, revoked.invitation.id]) t.same(await deliveries(w, id), [], 'nothing queued')
})

t.test('SMTP credentials never appear in logs, errors or the audit trail', async (t) => {
  const smtp = await smtpServer(t, {
    authOptional: false,
    allowInsecureAuth: true,
    onAuth (_auth, _session, callback) { callback(new Error('Invalid username or password')) }
  })
  await smtp.start()
  const w = await world(t, smtpEnv(smtp, 'mailer:S3cr3t%2Fpass@'))
  const a = await w.invite({ delivery: { recipients: ['bob@contoso.com'] } })
  const [failed] = await allIn(w, a.invitation.id, 'failed')
  t.match(failed.lastError, /535|EAUTH/)
  const everything = JSON.stringify(await recipients(w, a.invitation.id)) +
    JSON.stringify((await w.call('GET', '/v1/audit-events?limit=500')).json()) +
    w.logs.join('')
  t.notMatch(everything, 'S3cr3t')
})
