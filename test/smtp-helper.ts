import { EventEmitter, once } from 'node:events'
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
  /** Emits `message` for each message received. */
  events: EventEmitter
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
    events: new EventEmitter(),
    received: [],
    mode: 'accept',
    start: async () => {
      server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onRcptTo (address, _session, callback) {
          if (state.mode === 'accept') return callback()
          const err = new Error(
            state.mode === 'temporary' ? 'Mailbox busy, try again later' : `No such user here: ${address.address}`
          ) as Error & { responseCode: number }
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
              state.events.emit('message')
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

/**
 * Checks again each time `wake` emits `event` (the outbox finished a run, the
 * SMTP server received a message), until `check` returns a value. No sleeping;
 * the deadline only bounds a hang, it is not a timing assertion.
 */
export async function eventually<T> (
  check: () => Promise<T | undefined | false>,
  what: string,
  wake: { emitter: EventEmitter, event: string },
  deadlineMs = 30_000
): Promise<T> {
  const deadline = AbortSignal.timeout(deadlineMs)
  for (;;) {
    // Listening before checking: an event between the check and the wait is not missed.
    const next = once(wake.emitter, wake.event, { signal: deadline }).catch(() => { throw new Error(`gave up waiting for ${what}`) })
    const value = await check()
    if (value) {
      next.catch(() => {})
      return value
    }
    await next
  }
}
