import { generateKeyPairSync, sign } from 'node:crypto'
import t from 'tap'
import { Signer } from '../src/services/signer.js'

const alice = generateKeyPairSync('ed25519')
const bob = generateKeyPairSync('ed25519')
const expected = (input: string, key: typeof alice.privateKey) => sign(null, Buffer.from(input), key).toString('base64url')

t.test('the signing thread: concurrent signatures with several keys, each the one node:crypto makes on the spot', async (t) => {
  const signer = new Signer()
  const inputs = Array.from({ length: 200 }, (_, i) => `header.payload-${i}-é`)
  const keys = inputs.map((_, i) => i % 3 === 0 ? bob.privateKey : alice.privateKey)
  const signatures = await Promise.all(inputs.map((input, i) => signer.sign(input, keys[i]!)))
  t.same(signatures, inputs.map((input, i) => expected(input, keys[i]!)))
})

t.test('the signing thread: a signature that fails rejects alone; the next ones are signed', async (t) => {
  const signer = new Signer()
  await t.rejects(signer.sign('x', alice.publicKey), { name: 'Error', code: /^ERR_/ }, 'node:crypto\'s error, with its code')
  t.equal(await signer.sign('y', alice.privateKey), expected('y', alice.privateKey))
})

t.test('the signing thread: when it dies, everything it owed is rejected and the next signature starts a new one', async (t) => {
  // Holds every request until "die", then exits: as a thread that crashes with work in hand.
  const signer = new Signer(`
const { parentPort } = require('node:worker_threads')
const { sign } = require('node:crypto')
parentPort.on('message', (m) => {
  if (m.input === 'die') process.exit(7)
  if (m.input.startsWith('hold')) return
  parentPort.postMessage({ id: m.id, result: sign(null, Buffer.from(m.input), m.key).toString('base64url') })
})`)
  t.equal(await signer.sign('before', alice.privateKey), expected('before', alice.privateKey))
  const owed = [signer.sign('hold-1', alice.privateKey), signer.sign('hold-2', bob.privateKey), signer.sign('die', alice.privateKey)]
  for (const p of owed) await t.rejects(p, /the signing thread exited \(7\)/)
  t.equal(await signer.sign('after', bob.privateKey), expected('after', bob.privateKey), 'a new thread signs')
})
