import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import nodemailer from 'nodemailer'
import type Mail from 'nodemailer/lib/mailer/index.js'
import type { Config } from '../config.js'

export interface SendResult {
  /** The server's reply (`250 2.0.0 Ok: queued as …`), or where the file went. */
  reply: string
  /** The .eml file, when there is no mail server. */
  location: string | null
}

export interface Mailer {
  readonly kind: 'smtp' | 'eml'
  send (message: Mail.Options & { messageId: string }, fileName: string): Promise<SendResult>
  close (): void
}

/** A send failure, classified: 5xx replies are permanent; 4xx replies, refused connections and timeouts are temporary. */
export class SendError extends Error {
  constructor (message: string, readonly permanent: boolean) {
    super(message)
    this.name = 'SendError'
  }
}

/**
 * nodemailer over SMTP when RA_SMTP_URL is set; otherwise each message is
 * written as an .eml file into RA_MAIL_DIR. nodemailer's own logger stays off,
 * and errors are reduced to code and server reply, so credentials never reach
 * a log line or a stored error.
 */
export function createMailer (config: Pick<Config, 'smtp' | 'mailDir'>): Mailer {
  const { smtp } = config
  if (smtp.url === undefined) {
    const stream = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' })
    return {
      kind: 'eml',
      async send (message, fileName) {
        const info = await stream.sendMail(message)
        mkdirSync(config.mailDir, { recursive: true })
        const file = path.join(config.mailDir, `${fileName}.eml`)
        writeFileSync(file, info.message as Buffer, { mode: 0o600 })
        return { reply: `written to ${file}`, location: file }
      },
      close: () => stream.close()
    }
  }
  const url = new URL(smtp.url)
  const secure = url.protocol === 'smtps:'
  const transport = nodemailer.createTransport({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : (secure ? 465 : 587),
    secure,
    requireTLS: smtp.requireTls,
    ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
    tls: { rejectUnauthorized: smtp.rejectUnauthorized },
    connectionTimeout: smtp.timeoutMs,
    greetingTimeout: smtp.timeoutMs,
    socketTimeout: smtp.timeoutMs,
    logger: false,
    debug: false
  })
  return {
    kind: 'smtp',
    async send (message) {
      try {
        const info = await transport.sendMail(message)
        return { reply: String(info.response ?? 'accepted'), location: null }
      } catch (err) {
        throw classify(err)
      }
    },
    close: () => transport.close()
  }
}

function classify (err: unknown): SendError {
  const e = err as { code?: string, responseCode?: number, response?: string, message?: string }
  const reply = typeof e.response === 'string' ? e.response.slice(0, 500) : undefined
  if (typeof e.responseCode === 'number') {
    return new SendError(`${e.code ?? 'SMTP'} ${reply ?? e.responseCode}`, e.responseCode >= 500)
  }
  // No SMTP reply: the connection failed, timed out or broke. Always worth another try.
  return new SendError(`${e.code ?? 'ERROR'}: ${(e.message ?? 'send failed').replace(/\/\/[^@\s]*@/g, '//[redacted]@').slice(0, 300)}`, false)
}
