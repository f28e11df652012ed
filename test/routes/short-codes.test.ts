import { createHash } from 'node:crypto'
import t from 'tap'
import { outsideRows, outsideSql, type Json } from '../helper.js'
import { world } from './invitations-helper.js'

const CODE = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/
/** A code as someone types it after hearing it: lower case, spaces for the hyphens. */
const typed = (code: string): string => code.toLowerCase().replace(/-/g, ' ')

t.test('short codes: made on request, shown once, redeemed once (any case, any spacing), stored only as a keyed hash', async (t) => {
  const w = await world(t)
  const created = await w.invite({ shortCode: true, externalRef: 'INC-CODE' })
  t.match(created.shortCode, { code: CODE, expiresAt: String })
  const { code, expiresAt } = created.shortCode
  t.equal(Date.parse(expiresAt) - Date.parse(created.invitation.createdAt), 30 * 60_000, 'at most 30 minutes')
  t.equal(created.invitation.shortCodeExpiresAt, expiresAt)
  const read = await w.call('GET', `/v1/invitations/${created.invitation.id}`, undefined, w.alice)
  t.notOk(read.body.includes(code), 'the code is shown only when made')
  const [row] = await outsideRows(w.config, 'SELECT code_hash FROM invitations WHERE id = ?', created.invitation.id)
  const plain = code.replace(/-/g, '')
  t.notOk(JSON.stringify(row).includes(plain))
  t.not(row.code_hash, createHash('sha256').update(plain).digest('base64url'), 'keyed, not a plain hash')
  t.equal((await outsideRows(w.config, 'SELECT name FROM service_secrets')).length, 1, 'the key, made once')

  const session = await w.call('POST', '/v1/redemptions', { code: typed(code) }, w.bob)
  t.equal(session.statusCode, 201, session.body)
  t.match(session.json(), { invitationId: created.invitation.id, externalRef: 'INC-CODE', state: 'awaiting-novice' })
  const again = await w.call('POST', '/v1/redemptions', { code }, w.carol)
  t.match(again.json(), { statusCode: 409, code: 'TICKET_ALREADY_REDEEMED' }, 'single use, as the ticket')

  t.match((await w.call('POST', '/v1/redemptions', {}, w.bob)).json(), { statusCode: 400, code: 'VALIDATION_FAILED' })
  const other = await w.invite({ shortCode: true })
  t.match((await w.call('POST', '/v1/redemptions', { ticket: other.ticket, code: other.shortCode.code }, w.bob)).json(),
    { statusCode: 400, code: 'VALIDATION_FAILED', message: /either ticket or code/ })
  t.notOk((await w.invite()).shortCode, 'only on request')
  const logs = w.logs.join('\n')
  t.notOk(logs.includes(code) || logs.includes(plain) || logs.includes(other.shortCode.code), 'no code in the logs')
  const audit = (await w.call('GET', '/v1/audit-events?limit=200')).json().items
  t.notOk(JSON.stringify(audit).includes(plain), 'nor in the audit trail')
})

t.test('short codes: a code lives 30 minutes (or the invitation\'s life, if shorter); after, the ticket still works', async (t) => {
  const w = await world(t)
  const brief = await w.invite({ shortCode: true, lifetime: { value: 10, unit: 'minutes' } })
  t.equal(Date.parse(brief.shortCode.expiresAt), Date.parse(brief.invitation.expiresAt), 'never longer than the invitation')
  const created = await w.invite({ shortCode: true, lifetime: { value: 2, unit: 'hours' } })
  await outsideSql(w.config, 'UPDATE invitations SET code_expires_at = ? WHERE id = ?', new Date(Date.now() - 1000).toISOString(), created.invitation.id)
  const expired = await w.call('POST', '/v1/redemptions', { code: created.shortCode.code }, w.bob)
  t.match(expired.json(), { statusCode: 410, code: 'CODE_EXPIRED', field: 'code' })
  t.equal((await w.redeem(created.ticket)).statusCode, 201, 'the invitation itself is still open')
})

t.test('short codes: wrong codes are limited per expert, per address and service-wide, across instances (RFC 8628 §5.1)', async (t) => {
  const dir = t.testdir()
  const env = { RA_CODE_GUESSES_PER_EXPERT_PER_HOUR: '3', RA_CODE_GUESSES_PER_ADDRESS_PER_HOUR: '5', RA_CODE_GUESSES_PER_HOUR: '100' }
  const w = await world(t, env, dir)
  const created = await w.invite({ shortCode: true })
  const guess = (token: string, code: string, app = w): Promise<Json> => app.call('POST', '/v1/redemptions', { code }, token).then((r) => r.json())
  t.match(await guess(w.bob, 'AAAA-AAAA-AAAA'), { statusCode: 422, code: 'CODE_INVALID', field: 'code' })
  t.match(await guess(w.bob, 'not a code'), { statusCode: 422, code: 'CODE_INVALID' }, 'a malformed code counts too')
  t.match(await guess(w.bob, 'BBBB-BBBB-BBBB'), { statusCode: 422, code: 'CODE_INVALID' })
  const blocked = await w.call('POST', '/v1/redemptions', { code: created.shortCode.code }, w.bob)
  t.match(blocked.json(), { statusCode: 429, code: 'CODE_GUESSES_EXCEEDED', message: /for this expert/ }, 'then not even the right code is looked up')
  t.ok(Number(blocked.headers['retry-after']) > 3000, 'for the rest of the hour')

  // Another instance on the same database: the same budget.
  const second = await world(t, env, dir)
  t.match(await guess(second.bob, created.shortCode.code, second), { statusCode: 429, code: 'CODE_GUESSES_EXCEEDED' }, 'held across instances')

  // carol, from the same address: two more wrong codes use up the address's five.
  t.match(await guess(w.carol, 'CCCC-CCCC-CCCC'), { code: 'CODE_INVALID' })
  t.match(await guess(w.carol, 'DDDD-DDDD-DDDD'), { code: 'CODE_INVALID' })
  t.match(await guess(w.carol, created.shortCode.code), { statusCode: 429, code: 'CODE_GUESSES_EXCEEDED', message: /from this address/ })
  const refusals = (await w.call('GET', '/v1/audit-events?action=invitation.redeem-refused&limit=50')).json().items
  t.ok(refusals.some((e: Json) => e.details.code === 'CODE_GUESSES_EXCEEDED') && refusals.some((e: Json) => e.details.code === 'CODE_INVALID'), 'audited')
})

t.test('short codes: the service-wide budget stops guessing with many experts and addresses', async (t) => {
  const w = await world(t, { RA_CODE_GUESSES_PER_HOUR: '2', RA_CODE_GUESSES_PER_ADDRESS_PER_HOUR: '100' })
  const created = await w.invite({ shortCode: true })
  t.match((await w.call('POST', '/v1/redemptions', { code: 'AAAA-AAAA-AAAA' }, w.bob)).json(), { code: 'CODE_INVALID' })
  t.match((await w.call('POST', '/v1/redemptions', { code: 'AAAA-AAAA-AAAB' }, w.carol)).json(), { code: 'CODE_INVALID' })
  t.match((await w.call('POST', '/v1/redemptions', { code: created.shortCode.code }, w.bob)).json(),
    { statusCode: 429, code: 'CODE_GUESSES_EXCEEDED', message: /for the whole service/ })
  t.equal((await w.redeem(created.ticket)).statusCode, 201, 'tickets are not held up by it')
})

t.test('C1 short codes: the preview takes a code instead of the ticket (any case, any spacing), shows what the ticket would, spends nothing; then it redeems',
  async (t) => {
    const w = await world(t)
    const created = await w.invite({ shortCode: true, externalRef: 'INC-PREVIEW', password: 'blue-42-horse' })
    const { code } = created.shortCode
    const preview = await w.call('POST', '/v1/redemptions/preview', { code: typed(code) }, w.bob)
    t.equal(preview.statusCode, 200, preview.body)
    t.equal(preview.headers['cache-control'], 'no-store')
    t.same(preview.json(), (await w.call('POST', '/v1/redemptions/preview', { ticket: created.ticket }, w.bob)).json(), 'the invitation, as by its ticket')
    t.match(preview.json(), { invitationId: created.invitation.id, externalRef: 'INC-PREVIEW', passwordProtected: true })
    t.equal((await w.call('POST', '/v1/redemptions/preview', { code }, w.bob)).statusCode, 200, 'as often as needed')
    t.equal((await w.call('GET', `/v1/invitations/${created.invitation.id}`)).json().state, 'open', 'a preview redeems nothing')
    t.match((await w.call('POST', '/v1/redemptions/preview', { code }, w.alice)).json(), { statusCode: 403, code: 'OWN_INVITATION' })

    const session = await w.call('POST', '/v1/redemptions', { code: typed(code), password: 'blue-42-horse' }, w.bob)
    t.equal(session.statusCode, 201, session.body)
    t.match(session.json(), { invitationId: created.invitation.id, state: 'awaiting-novice' }, 'the same code redeems after its preview')
    t.match((await w.call('POST', '/v1/redemptions/preview', { code }, w.carol)).json(), { statusCode: 409, code: 'TICKET_ALREADY_REDEEMED' },
      'once redeemed, the preview refuses it as redemption would')

    // Exactly one of ticket and code, as for redemption.
    const other = await w.invite({ shortCode: true })
    t.match((await w.call('POST', '/v1/redemptions/preview', { ticket: other.ticket, code: other.shortCode.code }, w.bob)).json(),
      { statusCode: 400, code: 'VALIDATION_FAILED', message: /either ticket or code/ })
    t.match((await w.call('POST', '/v1/redemptions/preview', {}, w.bob)).json(),
      { statusCode: 400, code: 'VALIDATION_FAILED', message: /either ticket or code/ })
    t.match((await w.call('POST', '/v1/redemptions/preview', { code: other.shortCode.code, password: 'x' }, w.bob)).json(),
      { statusCode: 400, code: 'UNKNOWN_FIELD' }, 'no password to look')

    // A code past its 30 minutes is refused by the preview too; the ticket still shows the invitation.
    await outsideSql(w.config, 'UPDATE invitations SET code_expires_at = ? WHERE id = ?', new Date(Date.now() - 1000).toISOString(), other.invitation.id)
    t.match((await w.call('POST', '/v1/redemptions/preview', { code: other.shortCode.code }, w.bob)).json(),
      { statusCode: 410, code: 'CODE_EXPIRED', field: 'code' })
    t.equal((await w.call('POST', '/v1/redemptions/preview', { ticket: other.ticket }, w.bob)).statusCode, 200)
    const logs = w.logs.join('\n')
    t.notOk(logs.includes(code) || logs.includes(code.replace(/-/g, '')), 'no code in the logs')
  })

t.test('short codes: a wrong code in the preview counts against the same guessing budget as redemption, and is audited (RFC 8628 §5.1)', async (t) => {
  const w = await world(t, { RA_CODE_GUESSES_PER_EXPERT_PER_HOUR: '3' })
  const created = await w.invite({ shortCode: true })
  const preview = (code: string): Promise<Json> => w.call('POST', '/v1/redemptions/preview', { code }, w.bob).then((r) => r.json())
  t.match(await preview('AAAA-AAAA-AAAA'), { statusCode: 422, code: 'CODE_INVALID', field: 'code' })
  t.match(await preview('not a code'), { statusCode: 422, code: 'CODE_INVALID' }, 'a malformed code counts too')
  t.match((await w.call('POST', '/v1/redemptions', { code: 'BBBB-BBBB-BBBB' }, w.bob)).json(), { statusCode: 422, code: 'CODE_INVALID' },
    'the third wrong code, at redemption')
  t.match(await preview(created.shortCode.code), { statusCode: 429, code: 'CODE_GUESSES_EXCEEDED', message: /for this expert/ },
    'then the preview does not look up even the right code')
  t.match((await w.call('POST', '/v1/redemptions', { code: created.shortCode.code }, w.bob)).json(), { statusCode: 429, code: 'CODE_GUESSES_EXCEEDED' },
    'nor does redemption')
  t.equal((await w.call('POST', '/v1/redemptions/preview', { code: created.shortCode.code }, w.carol)).statusCode, 200, 'another expert still can')
  const refusals = (await w.call('GET', '/v1/audit-events?action=invitation.preview-refused&limit=50')).json().items as Json[]
  t.same(refusals.map((e) => e.details.code).sort(), ['CODE_GUESSES_EXCEEDED', 'CODE_INVALID', 'CODE_INVALID'], 'audited')
  t.notOk(JSON.stringify(refusals).includes(created.shortCode.code.replace(/-/g, '')), 'without the code')
})
