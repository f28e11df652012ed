import net from 'node:net'
import path from 'node:path'
import t, { type Test } from 'tap'
import { startServer, type ServerProcess } from '../../scripts/server-process.js'
import { ADMIN_TOKEN } from '../helper.js'

/** The server's open-file limit in these tests: low, so that a flood a test can afford reaches it. */
const FILE_LIMIT = 256
/** More sockets than the limit: without a cap, accepting them uses up every descriptor. */
const FLOOD = 400

/** Opens `n` sockets that send nothing; resolves once each has connected or failed. */
async function flood (port: number, n: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = []
  await Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve())
    socket.on('error', () => resolve())
    socket.on('close', () => resolve())
    sockets.push(socket)
  })))
  return sockets
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function started (t: Test, env: Record<string, string>): Promise<{ server: ServerProcess, url: string }> {
  const server = startServer({
    RA_DATABASE_FILE: path.join(t.testdir(), 'ra.sqlite'),
    RA_BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN,
    // The load monitor reads resident memory (from /proc, a file) on every sample: the read that failed with EMFILE.
    RA_MAX_RSS_BYTES: String(64 * 1024 ** 3),
    ...env
  }, { openFileLimit: FILE_LIMIT })
  t.teardown(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.kill('SIGKILL')
      await server.exit
    }
  })
  return { server, url: await server.url }
}

/** Asks until the server answers (the flood's sockets may take a moment to be released). */
async function answers (url: string, tries = 50): Promise<number> {
  for (let i = 0; ; i++) {
    try {
      return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status
    } catch (err) {
      if (i >= tries) throw err
      await sleep(100)
    }
  }
}

t.test('a socket flood beyond the connection cap and the open-file limit does not end the process', async (t) => {
  const { server, url } = await started(t, {})
  const sockets = await flood(Number(new URL(url).port), FLOOD)
  // The monitor samples every second; before the cap, the process died within three.
  await sleep(3000)
  t.equal(server.child.exitCode, null, 'the process is alive during the flood')
  t.match(server.output(), /connection limit reached/, 'the cap was reached and logged')
  t.notMatch(server.output(), /EMFILE/, 'no descriptor ran out: the cap is under the limit')
  for (const s of sockets) s.destroy()
  t.equal(await answers(`${url}/healthz`), 200, '/healthz answers once the flood is gone')
  t.equal(await answers(`${url}/readyz`), 200, 'and the instance is ready')
  t.equal(server.child.exitCode, null, 'the process is still alive')
})

t.test('with the cap above the open-file limit, running out of descriptors is pressure, never a crash', async (t) => {
  // A misconfigured cap: the flood does use up every descriptor, so the load monitor's reads and accepts fail.
  const { server, url } = await started(t, { RA_MAX_CONNECTIONS: '100000' })
  const sockets = await flood(Number(new URL(url).port), FLOOD)
  await sleep(3000)
  t.equal(server.child.exitCode, null, 'the process is alive while descriptors are exhausted')
  t.match(server.output(), /load monitor could not read|could not accept a connection/, 'descriptors did run out, and that was logged')
  for (const s of sockets) s.destroy()
  t.equal(await answers(`${url}/healthz`), 200, '/healthz answers once the sockets close')
  // The monitor recovers at its next successful sample.
  let ready = 0
  for (let i = 0; i < 30 && ready !== 200; i++) {
    ready = await answers(`${url}/readyz`)
    if (ready !== 200) await sleep(200)
  }
  t.equal(ready, 200, 'ready again once the monitor can read its figures')
  t.equal(server.child.exitCode, null, 'the process is still alive')
})
