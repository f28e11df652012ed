import net from 'node:net'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer, type SMTPServerOptions } from 'smtp-server'
import type { Test } from 'tap'

export interface Received {
  parsed: ParsedMail
  raw: string
  to: string[]
}

export type Mode = 'accept' | 'temporary' | 'permanent'

export interface SmtpServer {
  port: number
  received: Received[]
  /** How RCPT TO is answered from now on. */
  mode: Mode
  start: () => Promise<void>
  stop: () => Promise<void>
}

/** A free loopback port, released at once (the SMTP server may start on it later). */
export async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A real SMTP server (smtp-server) on loopback that parses what it receives (mailparser). Not started until `start()`. */
export async function smtpServer (t: Test, options: Partial<SMTPServerOptions> = {}): Promise<SmtpServer> {
  const port = await freePort()
  let server: SMTPServer | undefined
  const state: SmtpServer = {
    port,
    received: [],
    mode: 'accept',
    start: async () => {
      server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onRcptTo (address, _session, callback) {
          if (state.mode === 'accept') return callback()
          const err = new Error(state.mode === 'temporary' ? 'Mailbox busy, try again later' : `No such user here: ${address.address}`) as Error & { responseCode: number }
          err.responseCode = state.mode === 'temporary' ? 451 : 550
          callback(err)
        },
        onData (stream, session, callback) {
          const chunks: Buffer[] = []
          stream.on('data', (c: Buffer) => chunks.push(c))
          stream.on('end', () => {
            const raw = Buffer.concat(chunks)
            simpleParser(raw).then((parsed) => {
              state.received.push({ parsed, raw: raw.toString('utf8'), to: session.envelope.rcptTo.map((r) => r.address) })
              callback()
            }, callback)
          })
        },
        ...options
      })
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject)
        server!.listen(port, '127.0.0.1', () => resolve())
      })
    },
    stop: async () => {
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()))
      server = undefined
    }
  }
  t.teardown(() => state.stop())
  return state
}

/** Polls until `check` returns a value (not a timing assertion: the deadline only bounds a hang). */
export async function eventually<T> (check: () => Promise<T | undefined | false>, what: string, deadlineMs = 30_000): Promise<T> {
  const until = Date.now() + deadlineMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
