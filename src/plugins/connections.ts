import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyHttpOptions, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { ERROR_CODES, reasonPhrase, type ErrorCode } from '../errors.js'

/**
 * What a client can hold open: every socket is bounded in time (headers,
 * whole request, idle keep-alive, no traffic at all) and in number
 * (RA_MAX_CONNECTIONS), so no client can hold descriptors or memory for
 * long, or use up the process's open-file limit.
 */
export function connectionOptions (config: Config): Pick<
  FastifyHttpOptions<Server>,
  'connectionTimeout' | 'keepAliveTimeout' | 'requestTimeout' | 'http' | 'clientErrorHandler'
> {
  const { requestTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs, idleTimeoutMs } = config.connections
  return {
    connectionTimeout: idleTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
    requestTimeout: requestTimeoutMs,
    http: {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      keepAliveTimeout: keepAliveTimeoutMs,
      // Node checks those deadlines on this interval (30 s by default): check often enough that they hold.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 4)))
    },
    clientErrorHandler
  }
}

/** The HTTP-level errors Node reports before (or while) a request reaches the app, as our error codes. */
function clientErrorCode (err: NodeJS.ErrnoException): ErrorCode {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT'
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE'
  return 'BAD_REQUEST'
}

const MESSAGES: Partial<Record<ErrorCode, string>> = {
  REQUEST_TIMEOUT: 'the request did not arrive in time; the connection is closed',
  HEADERS_TOO_LARGE: 'the request\'s headers are too large',
  BAD_REQUEST: 'the request is not valid HTTP'
}

/**
 * Node's client errors (a request too slow to arrive, malformed HTTP), answered
 * in the error shape, and the connection closed. Nothing is written when a
 * response has already begun on the socket.
 */
function clientErrorHandler (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const code = clientErrorCode(err)
  const statusCode = ERROR_CODES[code]
  this.log.info({ code, remoteAddress: socket.remoteAddress, cause: err.code }, 'client error: connection closed')
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify({ statusCode, code, error: reasonPhrase(statusCode), message: MESSAGES[code] })
    socket.write(`HTTP/1.1 ${statusCode} ${reasonPhrase(statusCode)}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroySoon()
}

/**
 * The connection cap: beyond RA_MAX_CONNECTIONS open sockets, Node closes each
 * new one as soon as it is accepted. Logged at most once a minute. A failed
 * accept is logged too, never fatal.
 */
export default fp<{ maxConnections: number }>(async (fastify, { maxConnections }) => {
  fastify.server.maxConnections = maxConnections
  // After listen, an accept that fails (EMFILE when descriptors run out) is an 'error' on the server: without
  // a listener, that would end the process. Nothing a client does may end it: log it, at most once a minute.
  let lastAcceptError = 0
  fastify.server.on('error', (err: NodeJS.ErrnoException) => {
    if (!fastify.server.listening) return // listen's own errors (EADDRINUSE) reject listen()
    const now = Date.now()
    if (now - lastAcceptError < 60_000) return
    lastAcceptError = now
    fastify.log.error({ err }, 'the server could not accept a connection')
  })
  let dropped = 0
  let lastLog = 0
  fastify.server.on('drop', () => {
    dropped++
    const now = Date.now()
    if (now - lastLog < 60_000) return
    lastLog = now
    fastify.log.warn({ maxConnections, droppedSoFar: dropped }, 'connection limit reached: new connections are closed at once')
  })
  // Shutting down: a request already being handled when close began is answered with `Connection: close`, so its
  // keep-alive connection ends with the response instead of holding the server open until the idle timeout
  // (fastify marks only requests that arrive after close began, and closes only the connections idle then).
  let closing = false
  fastify.addHook('preClose', async () => { closing = true })
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (closing && request.raw.httpVersionMajor < 2) reply.header('connection', 'close')
    done(null, payload)
  })
}, { name: 'connections' })
