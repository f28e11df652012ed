import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { exportJWK, generateKeyPair } from 'jose'
import t from 'tap'
import { projectRoot } from '../../src/paths.js'
import { verifyReceipt } from '../../src/services/receipt-verifier.js'
import { outsideRows, outsideSql, type Json } from '../helper.js'
import { world, type InvitationWorld } from './invitations-helper.js'

const post = (w: InvitationWorld, id: string, p: string, token: string, body?: Json) => w.call('POST', `/v1/sessions/${id}${p}`, body, token)
const receiptOf = async (w: InvitationWorld, id: string, token = w.alice): Promise<Json> => {
  const res = await w.call('GET', `/v1/sessions/${id}/receipt`, undefined, token)
  if (res.statusCode !== 200) throw new Error(res.body)
  t.equal(res.headers['cache-control'], 'private, no-store')
  return res.json()
}
const jwksOf = async (w: InvitationWorld): Promise<Json> => (await w.call('GET', '/.well-known/jwks.json', undefined, null)).json()

/** A whole consent story: offered by redemption, accepted, control requested, granted for 15 minutes, stopped, ended. */
async function story (w: InvitationWorld): Promise<string> {
  const id = (await w.redeem((await w.invite()).ticket)).json().id
  await post(w, id, '/accept', w.alice, { confirm: true })
  const rid = (await post(w, id, '/control-requests', w.bob)).json().controlRequest.id
  await post(w, id, `/control-requests/${rid}/grant`, w.alice, { minutes: 15 })
  await post(w, id, '/control/stop', w.alice)
  await post(w, id, '/end', w.bob)
  return id
}

/** `npm run cli -- verify-receipt` on a file, with or without a saved JWKS (else the keys of the database). */
function verifyCli (dir: string, receipt: Json, jwks?: Json): { code: number | null, out: string } {
  const file = path.join(dir, `receipt-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(file, JSON.stringify(receipt, null, 2))
  const args = ['--import', 'tsx', path.join(projectRoot, 'src', 'cli.ts'), 'verify-receipt', file]
  if (jwks !== undefined) {
    writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify(jwks))
    args.push('--jwks', path.join(dir, 'jwks.json'))
  }
  const res = spawnSync(process.execPath, args, {
    cwd: projectRoot,
    env: { PATH: process.env['PATH'] ?? '', RA_DATABASE_FILE: path.join(dir, 'ra.sqlite') },
    encoding: 'utf8'
  })
  return { code: res.status, out: res.stdout + res.stderr }
}

t.test('C1–C5 consent receipts: every consent event in a hash chain, signed with the ticket key; it verifies offline', async (t) => {
  const w = await world(t)
  const id = await story(w)
  const receipt = await receiptOf(w, id)
  t.same(receipt.entries.map((e: Json) => [e.entry.type, e.entry.actor]), [
    ['session.created', 'CONTOSO\\bob'],
    ['session.accepted', 'CONTOSO\\alice'],
    ['control.requested', 'CONTOSO\\bob'],
    ['control.granted', 'CONTOSO\\alice'],
    ['control.stopped', 'CONTOSO\\alice'],
    ['session.ended', 'CONTOSO\\bob']
  ], 'prompt shown, accepted, requested, granted, stopped, ended: and by whom')
  t.match(receipt.entries[3].entry.data, { minutes: 15, until: /Z$/, from: 'control-requested', to: 'in-control' }, 'granted for how long')
  t.match(receipt.entries[1].entry.data, { messageShown: null, verificationCode: 'not-compared' }, 'accepted with which message')
  t.equal(receipt.head, receipt.entries.at(-1).hash)
  t.same(await receiptOf(w, id, w.bob).then((r) => r.entries), receipt.entries, 'the expert gets the same chain')
  t.equal((await w.call('GET', `/v1/sessions/${id}/receipt`, undefined, w.carol)).statusCode, 404, 'no one else')

  const verdict = await verifyReceipt(receipt, await jwksOf(w))
  t.match(verdict, { valid: true, problems: [], entries: 6, claims: { sub: id, head: receipt.head, count: 6, iss: w.config.publicBaseUrl } })

  const dir = path.dirname(w.config.databaseFile)
  if (w.config.databaseUrl === undefined) {
    const byDatabase = verifyCli(dir, receipt)
    t.equal(byDatabase.code, 0, byDatabase.out)
    t.match(byDatabase.out, new RegExp(`valid: 6 consent entries of session ${id}`))
  }
  const byFile = verifyCli(t.testdir(), receipt, await jwksOf(w))
  t.equal(byFile.code, 0, byFile.out)

  // Another key under the same kid did not sign it: not valid, whatever the chain.
  const kid = JSON.parse(Buffer.from(receipt.signature.split('.')[0], 'base64url').toString()).kid
  const other = await exportJWK((await generateKeyPair('EdDSA', { extractable: true })).publicKey)
  t.match(await verifyReceipt(receipt, { keys: [{ ...other, kid, alg: 'EdDSA' }] }), { valid: false, problems: [{ problem: /signature does not verify/ }] })
})

t.test('consent receipts: one byte of the database changed, an entry removed or reordered, and the receipt no longer verifies', async (t) => {
  const w = await world(t)
  const id = await story(w)
  const jwks = await jwksOf(w)
  t.equal((await verifyReceipt(await receiptOf(w, id), jwks)).valid, true)

  // One byte: the grant's 15 minutes become 45, in the stored entry.
  const [granted] = await outsideRows<{ entry: string }>(w.config, 'SELECT entry FROM consent_chain WHERE session_id = ? AND seq = 4', id)
  const tampered = granted!.entry.replace('"minutes":15', '"minutes":45')
  t.equal(tampered.length, granted!.entry.length)
  await outsideSql(w.config, 'UPDATE consent_chain SET entry = ? WHERE session_id = ? AND seq = 4', tampered, id)
  const afterByte = await verifyReceipt(await receiptOf(w, id), jwks)
  t.match(afterByte, { valid: false, problems: [{ seq: 4, problem: /entry 4 was changed/ }] })
  const dir = path.dirname(w.config.databaseFile)
  const cli = verifyCli(dir, await receiptOf(w, id), jwks)
  t.equal(cli.code, 1)
  t.match(cli.out, /NOT valid:\n {2}\[entry 4\] entry 4 was changed/)
  await outsideSql(w.config, 'UPDATE consent_chain SET entry = ? WHERE session_id = ? AND seq = 4', granted!.entry, id)
  t.equal((await verifyReceipt(await receiptOf(w, id), jwks)).valid, true, 'put back, it verifies again')

  // An entry removed (the grant), and the rest renumbered to hide it.
  const removed = structuredClone(await receiptOf(w, id))
  removed.entries.splice(3, 1)
  t.match(await verifyReceipt(removed, jwks), { valid: false, problems: [{ seq: 4, problem: /removed or reordered/ }] })
  // Two entries swapped.
  const swapped = structuredClone(await receiptOf(w, id))
  ;[swapped.entries[3], swapped.entries[4]] = [swapped.entries[4], swapped.entries[3]]
  t.match(await verifyReceipt(swapped, jwks), { valid: false })
  // An entry deleted from the database itself: the signature made now covers what is left, but the chain has a gap.
  await outsideSql(w.config, 'DELETE FROM consent_chain WHERE session_id = ? AND seq = 2', id)
  t.match(await verifyReceipt(await receiptOf(w, id), jwks), { valid: false, problems: [{ seq: 2, problem: /removed or reordered/ }] },
    'a link deleted from the database')
  t.match(await verifyReceipt({ format: 'something else' }, jwks), { valid: false, problems: [{ problem: /not a receipt/ }] })
})
