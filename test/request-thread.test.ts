import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { projectRoot } from '../src/paths.js'
import { RequestThread } from '../src/request-thread.js'
import { runToEnd } from './workers.js'

// Answers { n } with n + 1, after `wait` ms; "close" ends it.
const ECHO = `
const { parentPort } = require('node:worker_threads')
parentPort.on('message', (m) => {
  if (m === 'close') return parentPort.close()
  setTimeout(() => parentPort.postMessage({ id: m.id, result: m.n + 1 }), m.wait)
})`

t.test('a request thread matches each answer to its request, whatever the order they come back in', async (t) => {
  const thread = new RequestThread(ECHO, 'the echo thread')
  t.teardown(() => thread.close())
  t.same(await Promise.all([thread.request({ n: 1, wait: 60 }), thread.request({ n: 2, wait: 0 }), thread.request({ n: 3, wait: 30 })]), [2, 3, 4])
  await thread.close()
  await t.rejects(thread.request({ n: 4, wait: 0 }), /the echo thread is closed/)
})

t.test('a request thread keeps no process alive once it owes nothing, and keeps it alive while it does', async (t) => {
  const script = path.join(t.testdir(), 'ask-once.ts')
  writeFileSync(script, `import { RequestThread } from ${JSON.stringify(path.join(projectRoot, 'src', 'request-thread.ts'))}
const thread = new RequestThread(${JSON.stringify(ECHO)}, 'the echo thread')
// Nothing else keeps this process alive while the answer is 1.5 s away.
process.stdout.write(String(await thread.request({ n: 6, wait: 1500 })) + '\\n')
`)
  const { out, ended: code } = await runToEnd(script, 30_000)
  t.equal(out.trim(), '7', 'the answer came (the thread kept the process alive for it)')
  t.equal(code, 0, 'and the process ended on its own')
})
