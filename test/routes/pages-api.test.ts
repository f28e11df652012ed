import t from 'tap'
import { readInvitationFile } from '../../src/domain/invitation-file.js'
import { setPolicy, world } from './invitations-helper.js'

t.test('S1 S3 S4 S5: GET /v1/me lists the computers a user sits at, with what asking from each would give and where the maximum comes from', async (t) => {
  const w = await world(t)
  await setPolicy(w, { solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'view', maxTicketTime: { value: 90, unit: 'minutes' } } })
  const me = (await w.call('GET', '/v1/me', undefined, w.alice)).json()
  t.match(me, { kind: 'user', name: 'CONTOSO\\alice', displayName: null })
  t.same(me.computers.map((c: { computer: string }) => c.computer), ['CONTOSO\\PC-10', 'CONTOSO\\PC-XP'], 'by name')
  t.match(me.computers[0], {
    computerId: w.pc10,
    allowed: true,
    maxLifetimeMinutes: 90,
    maxLifetimeSource: /^policy "P-\w+" linked to CONTOSO \(link order 1\)$/,
    mode: 'view',
    emailMethod: 'smapi'
  })
  t.equal(me.computers[1].emailMethod, 'mailto', 'S4: Mailto on XP')
  t.same((await w.call('GET', '/v1/me', undefined, w.bob)).json().computers, [], 'bob sits at no computer')
  t.match((await w.call('GET', '/v1/me')).json(), { kind: 'admin', name: 'admin', computers: [] })

  await setPolicy(w, { solicitedRemoteAssistance: { state: 'disabled' } })
  const off = (await w.call('GET', '/v1/me', undefined, w.alice)).json().computers[0]
  t.match(off, { allowed: false, maxLifetimeMinutes: null, maxLifetimeSource: null, mode: null })
  t.match(off.checks.find((c: { passed: boolean }) => !c.passed), { rule: 'S5' }, 'S5: the rule that says no')
})

t.test('C1: POST /v1/redemptions/preview shows what a ticket would redeem and is refused as redemption would be, changing nothing', async (t) => {
  const w = await world(t)
  const { ticket, invitation } = await w.invite({ password: 'blue-42-horse', lifetime: { value: 30, unit: 'minutes' } })
  const preview = await w.call('POST', '/v1/redemptions/preview', { ticket }, w.bob)
  t.equal(preview.statusCode, 200)
  t.equal(preview.headers['cache-control'], 'no-store')
  t.same(preview.json(), {
    invitationId: invitation.id,
    novice: { name: 'CONTOSO\\alice', displayName: null },
    computer: 'CONTOSO\\PC-10',
    mode: invitation.mode,
    expiresAt: invitation.expiresAt,
    passwordProtected: true,
    externalRef: null
  })
  t.equal((await w.call('GET', `/v1/invitations/${invitation.id}`)).json().state, 'open', 'a preview redeems nothing')
  t.match((await w.call('POST', '/v1/redemptions/preview', { ticket }, w.alice)).json(), { statusCode: 403, code: 'OWN_INVITATION' })
  // One character of the signature changed, well before its last (which carries unused bits): other bytes, always.
  // Making its last three 'AAA' left the ticket as it was when it already ended so (one ticket in 16,384).
  const at = ticket.length - 10
  const forgedTicket = ticket.slice(0, at) + (ticket[at] === 'A' ? 'B' : 'A') + ticket.slice(at + 1)
  const forged = await w.call('POST', '/v1/redemptions/preview', { ticket: forgedTicket }, w.bob)
  t.match(forged.json(), { statusCode: 422, code: 'TICKET_SIGNATURE_INVALID' })
  t.match((await w.call('POST', '/v1/redemptions/preview', { ticket })).json(), { statusCode: 403, code: 'EXPERT_REQUIRED' })
  t.equal((await w.redeem(ticket, 'blue-42-horse')).statusCode, 201)
  t.match((await w.call('POST', '/v1/redemptions/preview', { ticket }, w.carol)).json(), { statusCode: 409, code: 'TICKET_ALREADY_REDEEMED' })
  const refused = (await w.call('GET', '/v1/audit-events?action=invitation.preview-refused')).json().items
  t.equal(refused.length, 4, 'refusals are audited')
  t.notMatch(JSON.stringify(refused), ticket)
})

t.test('preview shares the redemption guessing budget', async (t) => {
  const w = await world(t, { RA_REDEMPTION_RATE_LIMIT_PER_MINUTE: '3' })
  const { ticket } = await w.invite()
  for (let i = 0; i < 3; i++) t.equal((await w.call('POST', '/v1/redemptions/preview', { ticket }, w.bob)).statusCode, 200)
  t.match((await w.call('POST', '/v1/redemptions', { ticket }, w.bob)).json(), { statusCode: 429, code: 'RATE_LIMITED' })
})

t.test('S4: the novice downloads the open invitation\'s file and gets a mailto: link; nothing is queued; others cannot', async (t) => {
  const w = await world(t)
  const { ticket, invitation } = await w.invite({ computer: 'CONTOSO\\PC-XP', password: 'blue-42-horse' })
  const file = await w.call('GET', `/v1/invitations/${invitation.id}/file`, undefined, w.alice)
  t.equal(file.statusCode, 200)
  t.equal(file.headers['content-disposition'], 'attachment; filename="RAInvitation.msrcincident"')
  t.equal(file.headers['cache-control'], 'no-store')
  const parsed = readInvitationFile(file.rawPayload)
  t.equal(parsed.rcTicket.parms, ticket, 'the same ticket, derived again')
  t.equal(parsed.username, 'CONTOSO\\alice')
  t.equal(parsed.encrypted, false, 'no connection data: nothing in the file is encrypted (issue 17)')

  const mailto = await w.call('GET', `/v1/invitations/${invitation.id}/mailto?to=bob@contoso.com&to=eve@contoso.com`, undefined, w.alice)
  t.equal(mailto.statusCode, 200)
  const uri = mailto.json().mailtoUri as string
  t.match(uri, /^mailto:bob@contoso\.com,eve@contoso\.com\?subject=/)
  t.ok(decodeURIComponent(uri).includes(`/redeem#ticket=${ticket}`), 'the link to the redemption page')
  t.notOk(decodeURIComponent(uri).includes('blue-42-horse'), 'never the password')
  t.same((await w.call('GET', `/v1/invitations/${invitation.id}/deliveries`, undefined, w.alice)).json().items, [], 'nothing sent')

  t.equal((await w.call('GET', `/v1/invitations/${invitation.id}/file`, undefined, w.bob)).statusCode, 404, 'not the expert\'s')
  t.equal((await w.call('GET', `/v1/invitations/${invitation.id}/mailto?to=not-an-address`, undefined, w.alice)).statusCode, 400)
  await w.call('DELETE', `/v1/invitations/${invitation.id}`, undefined, w.alice)
  t.match((await w.call('GET', `/v1/invitations/${invitation.id}/file`, undefined, w.alice)).json(), { statusCode: 409, code: 'INVITATION_NOT_OPEN' })
  t.match((await w.call('GET', `/v1/invitations/${invitation.id}/mailto`, undefined, w.alice)).json(), { statusCode: 409, code: 'INVITATION_NOT_OPEN' })
})
