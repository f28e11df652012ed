import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import {
  canonicalEntry, checkChain, CONSENT_EVENT_TYPES, GENESIS, nextEntry, RECEIPT_FORMAT, RECEIPT_JWS_TYP, sha256Hex, type ReceiptEntry
} from '../../src/domain/consent-receipt.js'
import { formatVerificationCode, normalizeVerificationCode, verificationCode, verificationCodeMatches } from '../../src/domain/verification-code.js'

/** A chain of three consent events, as the service writes them, and the claims a signature would hold over it. */
interface Chain {
  entries: ReceiptEntry[]
  claims: { sub: string, head: string, count: number }
  receipt: { sessionId: string, entries: ReceiptEntry[], head: string }
}

function chain (): Chain {
  const sessionId = 's-1'
  const entries: ReceiptEntry[] = []
  let last: { seq: number, hash: string } | null = null
  for (const [type, actor, data] of [
    ['session.created', 'CONTOSO\\bob', { origin: 'invitation' }],
    ['session.accepted', 'CONTOSO\\alice', { messageShown: 'Only the helpdesk.', verificationCode: 'compared' }],
    ['control.granted', 'CONTOSO\\alice', { minutes: 15, until: '2026-12-03T10:15:00.000Z' }]
  ] as const) {
    const link = nextEntry(last, { sessionId, type, at: '2026-12-03T10:00:00.000Z', actor, data: { ...data } })
    entries.push({ hash: link.hash, entry: link.entry })
    last = { seq: link.entry.seq, hash: link.hash }
  }
  const head = last!.hash
  return { entries, claims: { sub: sessionId, head, count: entries.length }, receipt: { sessionId, entries, head } }
}

t.test('consent receipts: the format, the JWS type, the first prev and the events in the chain are the ones the README publishes', async (t) => {
  // Anyone checking a receipt in another language works from the README's algorithm: the code must say what it says.
  const readme = readFileSync(path.join(import.meta.dirname, '..', '..', 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### Consent receipts'), readme.indexOf('The algorithm, to check a receipt'))
  const listed = section.slice(section.indexOf('Every consent event of a session'), section.indexOf('each with its actor'))
  t.same([...CONSENT_EVENT_TYPES].sort(), [...listed.matchAll(/`([a-z]+\.[a-z-]+)`/g)].map((m) => m[1]).sort())
  t.match(section, `"format": "${RECEIPT_FORMAT}"`)
  t.equal(RECEIPT_FORMAT, 'ra-consent-receipt/1')
  t.match(readme, `header \`typ\`\n   \`${RECEIPT_JWS_TYP}\``)
  t.equal(RECEIPT_JWS_TYP, 'ra-consent-receipt+jws')
  t.equal(GENESIS, '0'.repeat(64), '64 zeros, as the README says of the first entry')
  t.equal(sha256Hex('é'), '4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c', 'SHA-256 of the text\'s UTF-8 bytes')
})

t.test('consent receipts: each entry holds the hash of the one before; a whole chain has no problems', async (t) => {
  const { receipt, claims, entries } = chain()
  t.equal(entries[0]!.entry.prev, GENESIS)
  t.equal(entries[1]!.entry.prev, entries[0]!.hash)
  t.equal(entries[2]!.hash, sha256Hex(canonicalEntry(entries[2]!.entry)))
  t.equal(canonicalEntry(entries[0]!.entry), '{"actor":"CONTOSO\\\\bob","at":"2026-12-03T10:00:00.000Z","data":{"origin":"invitation"},' +
    `"prev":"${GENESIS}","seq":1,"sessionId":"s-1","type":"session.created"}`, 'RFC 8785: keys sorted, no spaces')
  t.same(checkChain(receipt, claims), [])
  t.same(checkChain({ ...receipt, entries: [], head: GENESIS }, { ...claims, head: GENESIS, count: 0 }), [], 'an empty chain is whole too')
})

t.test('consent receipts: a changed entry, a removed entry, reordered entries, a cut-off end or another session all fail', async (t) => {
  const { receipt, claims } = chain()
  const copy = () => structuredClone(receipt)

  const changed = copy()
  changed.entries[1]!.entry.data['messageShown'] = 'Anyone may connect.'
  t.match(checkChain(changed, claims), [{ seq: 2, problem: /entry 2 was changed/ }, { seq: 3, problem: /does not follow/ }])

  const rehashed = copy()
  rehashed.entries[1]!.entry.actor = 'CONTOSO\\mallory'
  rehashed.entries[1]!.hash = sha256Hex(canonicalEntry(rehashed.entries[1]!.entry))
  t.match(checkChain(rehashed, claims), [{ seq: 3, problem: /does not follow/ }], 'rehashing one entry breaks the next link')
  const rewritten = copy()
  rewritten.entries[2]!.entry.data['minutes'] = 120
  rewritten.entries[2]!.hash = sha256Hex(canonicalEntry(rewritten.entries[2]!.entry))
  rewritten.head = rewritten.entries[2]!.hash
  t.match(checkChain(rewritten, claims), [{ problem: /signed head is not the hash of the last entry/ }, { problem: /head is not the one signed/ }],
    'rewriting the last entry and the head: the signature still names the old head')

  const removed = copy()
  removed.entries.splice(1, 1)
  t.match(checkChain(removed, claims), [
    { seq: 2, problem: /says it is entry 3: entries were removed or reordered/ },
    { seq: 2, problem: /does not follow/ },
    { problem: /covers 3 entries; the receipt has 2/ }
  ])

  const reordered = copy()
  reordered.entries.reverse()
  t.ok(checkChain(reordered, claims).some((p) => /removed or reordered/.test(p.problem)))

  const cut = copy()
  cut.entries.pop()
  cut.head = cut.entries[1]!.hash
  t.match(checkChain(cut, claims), [{ problem: /covers 3 entries/ }, { problem: /signed head/ }, { problem: /head is not the one signed/ }],
    'the signature names the head and the count: the end cannot be cut off')

  t.match(checkChain(receipt, { ...claims, sub: 's-2' }), [{ problem: /for session s-2, not s-1/ }])
  const foreign = copy()
  foreign.entries[0]!.entry.sessionId = 's-2'
  t.ok(checkChain(foreign, claims).some((p) => p.seq === 1 && /another session/.test(p.problem)))
})

t.test('compare the code: six digits from the session under the key, typed with spaces or hyphens, compared in full', async (t) => {
  const key = Buffer.alloc(32, 7)
  const code = verificationCode(key, 'a-session')
  t.match(code, /^[0-9]{6}$/)
  t.equal(verificationCode(key, 'a-session'), code, 'derived: the same for both parties')
  t.not(verificationCode(Buffer.alloc(32, 8), 'a-session'), code, 'another key, another code')
  t.equal(normalizeVerificationCode(' 123 456 '), '123456')
  t.equal(normalizeVerificationCode('123-456'), '123456')
  for (const bad of ['12345', '1234567', '12345a', '', '１２３４５６']) t.equal(normalizeVerificationCode(bad), null, JSON.stringify(bad))
  t.ok(verificationCodeMatches(code, `${code.slice(0, 3)} ${code.slice(3)}`))
  t.notOk(verificationCodeMatches(code, code.slice(0, 5)))
  t.notOk(verificationCodeMatches(code, `${code.slice(0, 5)}${(Number(code[5]) + 1) % 10}`))
  // Leading zeros are kept: the code of some session starts with 0.
  const codes = Array.from({ length: 200 }, (_, i) => verificationCode(key, `s${i}`))
  t.ok(codes.some((c) => c.startsWith('0')) && codes.every((c) => c.length === 6))
})

t.test('compare the code: shown in two groups of three', async (t) => {
  t.equal(formatVerificationCode('012345'), '012 345')
})
