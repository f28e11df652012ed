import { spawn } from 'node:child_process'
import { generateKeyPairSync, sign } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { projectRoot } from '../src/paths.js'
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
  await t.rejects(signer.sign('x', alice.publicKey), /signing failed/)
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
  parentPort.postMessage({ id: m.id, signature: sign(null, Buffer.from(m.input), m.key).toString('base64url') })
})`)
  t.equal(await signer.sign('before', alice.privateKey), expected('before', alice.privateKey))
  const owed = [signer.sign('hold-1', alice.privateKey), signer.sign('hold-2', bob.privateKey), signer.sign('die', alice.privateKey)]
  for (const p of owed) await t.rejects(p, /the signing thread exited \(7\)/)
  t.equal(await signer.sign('after', bob.privateKey), expected('after', bob.privateKey), 'a new thread signs')
})

t.test('the signing thread keeps no process alive once it owes nothing', async (t) => {
  const script = path.join(t.testdir(), 'sign-once.ts')
  writeFileSync(script, `import { generateKeyPairSync } from 'node:crypto'
import { signer } from ${JSON.stringify(path.join(projectRoot, 'src', 'services', 'signer.ts'))}
const signature = await signer().sign('once', generateKeyPairSync('ed25519').privateKey)
process.stdout.write(signature.length + '\\n')
`)
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (c) => { out += c })
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const code = await new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
  clearTimeout(killer)
  t.equal(out.trim(), '86', 'it signed (86 base64url characters)')
  t.equal(code, 0, 'and the process ended on its own')
})
