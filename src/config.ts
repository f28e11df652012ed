import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Type, type Static } from '@sinclair/typebox'
import { Ajv } from 'ajv'

/**
 * Every setting the service reads from its environment, in one schema.
 * The README's table of variables is checked against this schema by a test.
 */
export const ConfigSchema = Type.Object({
  RA_DATABASE_FILE: Type.String({
    minLength: 1,
    default: './data/ra.sqlite',
    description: 'SQLite database file; its folder is created if missing and also holds the generated administrator token file.'
  }),
  RA_DATABASE_URL: Type.Optional(Type.String({
    pattern: '^postgres(ql)?://[^\\s]+$',
    description: 'PostgreSQL (14 or later) for several instances: postgres://user:password@host:5432/database, TLS through ' +
      '`sslmode` in the URL (e.g. ?sslmode=verify-full). A secret: never logged. Unset: the SQLite file in RA_DATABASE_FILE.'
  })),
  RA_DATABASE_POOL_SIZE: Type.Integer({
    minimum: 2,
    maximum: 1000,
    default: 10,
    description: 'PostgreSQL connections per instance (at least 2: units of work leave one for reads).'
  }),
  RA_WORKERS: Type.Integer({
    minimum: 1,
    maximum: 64,
    default: 1,
    description: 'Service processes on this machine (node:cluster), sharing RA_PORT and the database: 1 runs one process; ' +
      'more use more cores. On SQLite the file\'s one writer bounds writes whatever the number (README, Performance).'
  }),
  RA_HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Address to listen on.' }),
  RA_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'Port to listen on (0 picks a free one).' }),
  RA_PUBLIC_BASE_URL: Type.Optional(Type.String({
    format: 'uri',
    pattern: '^https?://',
    description: 'The URL clients use to reach the service (ticket issuer, links in e-mail). Default: http://RA_HOST:RA_PORT.'
  })),
  RA_LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level.' }
  ),
  RA_BOOTSTRAP_ADMIN_TOKEN: Type.Optional(Type.String({
    minLength: 32,
    maxLength: 512,
    pattern: '^[\\x21-\\x7e]+$',
    description: 'Registered at start as a token of the built-in administrator (idempotent). At least 32 printable characters.'
  })),
  RA_KEY_ENCRYPTION_SECRET: Type.Optional(Type.String({
    minLength: 32,
    maxLength: 1024,
    description: 'Encrypts ticket-signing private keys at rest (AES-256-GCM, key derived with scrypt). At least 32 characters. ' +
      'Without it, keys are stored in clear (a warning is logged).'
  })),
  RA_INVITATION_RETENTION_DAYS: Type.Integer({
    minimum: 0,
    maximum: 3650,
    default: 30,
    description: 'Days an invitation that ended without redemption (expired, revoked, locked) is kept after its expiry before it is purged; ' +
      'its audit events stay. Webhook deliveries that ended (and their events) are kept as long.'
  }),
  RA_TICKET_CLOCK_TOLERANCE_S: Type.Integer({
    minimum: 0,
    maximum: 5,
    default: 5,
    description: 'Clock skew allowed when checking a ticket\'s iat/nbf/exp (seconds). The server\'s own expiry check is exact.'
  }),
  RA_SMTP_URL: Type.Optional(Type.String({
    pattern: '^smtps?://',
    format: 'uri',
    description: 'The mail server, as smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps://… (TLS from the start). ' +
      'Unset: messages are written as .eml files into RA_MAIL_DIR.'
  })),
  RA_SMTP_FROM: Type.String({
    minLength: 3,
    maxLength: 320,
    pattern: '^[^\\r\\n]+$',
    default: 'Remote Assistance <remote-assistance@localhost>',
    description: 'The From address of invitation e-mail.'
  }),
  RA_SMTP_TLS_REJECT_UNAUTHORIZED: Type.Boolean({
    default: true,
    description: 'Refuse mail servers whose TLS certificate does not verify (set false only for a test server).'
  }),
  RA_SMTP_REQUIRE_TLS: Type.Boolean({ default: false, description: 'With smtp://, refuse to send unless the server offers STARTTLS.' }),
  RA_SMTP_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 600000,
    default: 30000,
    description: 'Connection, greeting and socket timeout for the mail server.'
  }),
  RA_MAIL_DIR: Type.Optional(Type.String({
    minLength: 1,
    description: 'Where .eml files go when RA_SMTP_URL is unset. Default: a folder "mail" beside the database file.'
  })),
  RA_DELIVERY_MAX_ATTEMPTS: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 8,
    description: 'Attempts per recipient before a temporary failure becomes failed.'
  }),
  RA_DELIVERY_RETRY_BASE_MS: Type.Integer({
    minimum: 10,
    maximum: 3600000,
    default: 30000,
    description: 'First retry delay; each next one doubles (with jitter), up to one hour.'
  }),
  RA_DELIVERY_POLL_MS: Type.Integer({
    minimum: 10,
    maximum: 600000,
    default: 5000,
    description: 'How often the outbox worker looks for due deliveries (it also wakes when one is queued).'
  }),
  RA_WEBHOOKS_ALLOW_HTTP: Type.Boolean({
    default: false,
    description: 'Allow webhook URLs with http, and only to a loopback address (a receiver on this machine, for testing). Otherwise https only.'
  }),
  RA_WEBHOOK_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 60000,
    default: 10000,
    description: 'How long a webhook receiver has to answer (connecting, sending and the whole response) before the attempt counts as failed.'
  }),
  RA_WEBHOOK_MAX_ATTEMPTS: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 12,
    description: 'Attempts per webhook delivery before it is marked failed.'
  }),
  RA_WEBHOOK_RETRY_BASE_MS: Type.Integer({
    minimum: 10,
    maximum: 3600000,
    default: 5000,
    description: 'First webhook retry delay; each next one doubles (with jitter), up to an hour. A receiver\'s Retry-After is honoured (up to an hour).'
  }),
  RA_WEBHOOK_DISABLE_AFTER_FAILURES: Type.Integer({
    minimum: 1,
    maximum: 10000,
    default: 10,
    description: 'A subscription is disabled (and that is audited) once this many of its deliveries in a row failed for good: ' +
      'a final refusal, or every attempt used up.'
  }),
  RA_METRICS_PORT: Type.Optional(Type.Integer({
    minimum: 0,
    maximum: 65535,
    description: 'Serve GET /metrics (Prometheus) on this port of RA_HOST instead of the main one, so that it need not be public. ' +
      'Unset: /metrics on the main port.'
  })),
  RA_SESSION_ACCEPT_TIMEOUT_S: Type.Integer({
    minimum: 5,
    maximum: 86400,
    default: 120,
    description: 'A session the novice has not accepted within this time expires (C1: no answer is a no).'
  }),
  RA_CONTROL_REQUEST_TIMEOUT_S: Type.Integer({
    minimum: 5,
    maximum: 3600,
    default: 60,
    description: 'A control request the novice has not answered within this time is denied.'
  }),
  RA_CONTROL_GRANT_DEFAULT_MINUTES: Type.Integer({
    minimum: 1,
    maximum: 1440,
    default: 30,
    description: 'How long control lasts when the novice grants it without choosing: then it drops back to view (control.expired), ' +
      'announced a minute before (control.expiring). At most RA_CONTROL_GRANT_MAX_MINUTES.'
  }),
  RA_CONTROL_GRANT_MAX_MINUTES: Type.Integer({
    minimum: 1,
    maximum: 1440,
    default: 120,
    description: 'The longest the novice may grant or renew control for at once; a longer grant is refused (422 GRANT_TOO_LONG).'
  }),
  RA_SWEEP_INTERVAL_MS: Type.Integer({
    minimum: 100,
    maximum: 600000,
    default: 1000,
    description: 'How often the timeouts are swept without anyone asking: sessions not accepted in time, control requests ' +
      'unanswered, control grants ending, invitations expiring (their live streams and webhooks are told then).'
  }),
  RA_STREAM_POLL_INTERVAL_MS: Type.Integer({
    minimum: 100,
    maximum: 600000,
    default: 1000,
    description: 'How often each session with a live event stream is read for events that no notification announced ' +
      '(a notification lost between PostgreSQL instances, or an event stored by a process outside this instance\'s own).'
  }),
  RA_SSE_HEARTBEAT_MS: Type.Integer({
    minimum: 100,
    maximum: 300000,
    default: 15000,
    description: 'Interval of the keep-alive comment on idle session event streams.'
  }),
  RA_OFFER_MAX_PENDING_PER_COMPUTER: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 3,
    description: 'At most this many offers may await the novice of one computer at once (429 beyond).'
  }),
  RA_OFFER_MAX_PER_EXPERT_PER_HOUR: Type.Integer({
    minimum: 1,
    maximum: 10000,
    default: 20,
    description: 'At most this many offers per expert in any hour (429 with Retry-After beyond).'
  }),
  RA_SIGN_IN_SESSION_MINUTES: Type.Integer({
    minimum: 5,
    maximum: 43200,
    default: 480,
    description: 'How long a sign-in to the pages lasts (the browser session\'s fixed expiry); signing out ends it sooner.'
  }),
  RA_SIGN_IN_LINK_MINUTES: Type.Integer({
    minimum: 1,
    maximum: 60,
    default: 10,
    description: 'How long a one-time sign-in link from `npm run cli -- sign-in-link` stays valid (it signs in once).'
  }),
  RA_OIDC_ISSUER: Type.Optional(Type.String({
    format: 'uri',
    pattern: '^https?://',
    description: 'The OpenID Connect identity provider (its issuer URL; discovery at /.well-known/openid-configuration). ' +
      'Set: the pages sign in through it (Authorization Code with PKCE). https, or http only to a loopback address. ' +
      'Unset: sign-in links from the CLI and API tokens.'
  })),
  RA_OIDC_CLIENT_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'This service\'s client id at the identity provider.' })),
  RA_OIDC_CLIENT_SECRET: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 1024,
    description: 'The client secret (client_secret_basic). A secret: never logged. Unset: a public client (PKCE only).'
  })),
  RA_OIDC_USERNAME_CLAIM: Type.String({
    minLength: 1,
    maxLength: 100,
    pattern: '^[A-Za-z0-9_:./-]+$',
    default: 'preferred_username',
    description: 'The ID token claim that names the directory user: `DOMAIN\\name`, a UPN (name@dns.name, mapped through the domain\'s DNS name) ' +
      'or an e-mail address (of exactly one user).'
  }),
  RA_OIDC_SCOPES: Type.String({
    minLength: 6,
    maxLength: 1000,
    pattern: '^openid( [\\x21-\\x7e]+)*$',
    default: 'openid profile email',
    description: 'The scopes asked of the identity provider (space-separated, starting with openid).'
  }),
  RA_TRUST_PROXY: Type.String({
    default: 'false',
    pattern: '^(true|false|\\d+|[0-9a-fA-F:.,/ ]+)$',
    description: 'Whether to believe X-Forwarded-For: false (default), true (any proxy: only behind one you control), ' +
      'a hop count, or a comma-separated list of proxy addresses/CIDRs.'
  }),
  RA_RATE_LIMIT_PER_MINUTE: Type.Integer({
    minimum: 1,
    maximum: 1000000,
    default: 1200,
    description: 'Requests per minute to /v1 per API token (per client address without one); 429 with Retry-After beyond.'
  }),
  RA_REDEMPTION_RATE_LIMIT_PER_MINUTE: Type.Integer({
    minimum: 1,
    maximum: 100000,
    default: 30,
    description: 'Redemption attempts per minute per token (ticket and password guessing).'
  }),
  RA_REDEMPTION_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: Type.Integer({
    minimum: 1,
    maximum: 1000000,
    default: 300,
    description: 'Redemption attempts per minute per client address, whatever the token (guessing with many tokens); ' +
      'higher than the per-token limit, because many experts may share one address.'
  }),
  RA_CODE_GUESSES_PER_EXPERT_PER_HOUR: Type.Integer({
    minimum: 1,
    maximum: 100000,
    default: 10,
    description: 'Wrong short codes an expert may type in an hour, across every instance; then 429 CODE_GUESSES_EXCEEDED until the hour is over.'
  }),
  RA_CODE_GUESSES_PER_ADDRESS_PER_HOUR: Type.Integer({
    minimum: 1,
    maximum: 100000,
    default: 30,
    description: 'Wrong short codes one client address may send in an hour, across every instance.'
  }),
  RA_CODE_GUESSES_PER_HOUR: Type.Integer({
    minimum: 1,
    maximum: 1000000,
    default: 600,
    description: 'Wrong short codes the whole service accepts in an hour (every expert and address together): it bounds the guessing budget.'
  }),
  RA_AUTH_FAILURE_LIMIT_PER_MINUTE: Type.Integer({
    minimum: 1,
    maximum: 100000,
    default: 30,
    description: 'Failed authentications per minute per client address; ' +
      'beyond, failing attempts from it get 429 until the minute is over (a valid token still authenticates).'
  }),
  RA_MAX_EVENT_LOOP_DELAY_MS: Type.Integer({
    minimum: 0,
    maximum: 60000,
    default: 1000,
    description: 'Answer 503 at once while the event loop lags more than this (0: off).'
  }),
  RA_MAX_HEAP_USED_BYTES: Type.Integer({ minimum: 0, default: 0, description: 'Answer 503 while the V8 heap uses more than this (0: off).' }),
  RA_MAX_RSS_BYTES: Type.Integer({ minimum: 0, default: 0, description: 'Answer 503 while the process\'s resident memory exceeds this (0: off).' }),
  RA_BODY_LIMIT: Type.Integer({
    minimum: 1024,
    maximum: 10485760,
    default: 16384,
    description: 'Largest accepted request body in bytes; larger bodies get 413.'
  }),
  RA_IMPORT_BODY_LIMIT: Type.Integer({
    minimum: 1024,
    maximum: 104857600,
    default: 4194304,
    description: 'Largest body accepted by POST /v1/directory/import.'
  }),
  RA_POLICY_IMPORT_BODY_LIMIT: Type.Integer({
    minimum: 1024,
    maximum: 16777216,
    default: 1048576,
    description: 'Largest Registry.pol file accepted by POST /v1/policies/import (bytes).'
  }),
  RA_DB_BUSY_TIMEOUT_MS: Type.Integer({
    minimum: 0,
    maximum: 60000,
    default: 5000,
    description: 'How long a write waits for a database lock held by another connection.'
  }),
  RA_DB_CHECKPOINT_INTERVAL_MS: Type.Integer({
    minimum: 0,
    maximum: 600000,
    default: 500,
    description: 'How often a worker thread copies the WAL into the database file (a PASSIVE checkpoint, off the request path). ' +
      '0: SQLite checkpoints inline, in the commit that crosses 1000 pages.'
  }),
  RA_DB_SYNCHRONOUS: Type.Union([Type.Literal('NORMAL'), Type.Literal('FULL')], {
    default: 'NORMAL',
    description: 'SQLite synchronous mode. NORMAL (with WAL): a committed write survives a crash of the process, ' +
      'but the last commits may be lost on power loss or an OS crash. FULL: also survives those, at the cost of an fsync per commit.'
  }),
  RA_MAX_CONNECTIONS: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 1000000,
    description: 'Most client connections open at once; beyond it, new connections are closed at once. ' +
      'Default: the process\'s open-file limit less a tenth of it (at least 100) kept for the database, logs and mail; at most 100000.'
  })),
  RA_REQUEST_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 3600000,
    default: 30000,
    description: 'A request (headers and body) must arrive within this time; a slower one gets 408 and its connection is closed.'
  }),
  RA_HEADERS_TIMEOUT_MS: Type.Optional(Type.Integer({
    minimum: 1000,
    maximum: 3600000,
    description: 'A request\'s headers must arrive within this time of the connection opening (or of the previous response); at most RA_REQUEST_TIMEOUT_MS. ' +
      'Default: 10000, or RA_REQUEST_TIMEOUT_MS if that is shorter.'
  })),
  RA_KEEP_ALIVE_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 600000,
    default: 72000,
    description: 'How long an idle keep-alive connection stays open between requests (longer than a load balancer\'s idle timeout).'
  }),
  RA_SHUTDOWN_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 600000,
    default: 10000,
    description: 'On SIGTERM/SIGINT, how long in-flight requests may take before the process exits anyway.'
  })
}, { additionalProperties: false })

export type RawConfig = Static<typeof ConfigSchema>

export interface Config {
  databaseFile: string
  /** PostgreSQL's URL (a secret), or undefined for the SQLite file. */
  databaseUrl: string | undefined
  databasePoolSize: number
  /** Service processes (node:cluster workers) sharing the port and the database; 1: this process serves. */
  workers: number
  host: string
  port: number
  publicBaseUrl: string
  logLevel: RawConfig['RA_LOG_LEVEL']
  bootstrapAdminToken: string | undefined
  keyEncryptionSecret: string | undefined
  invitationRetentionDays: number
  ticketClockToleranceS: number
  smtp: {
    url: string | undefined
    from: string
    rejectUnauthorized: boolean
    requireTls: boolean
    timeoutMs: number
  }
  mailDir: string
  delivery: { maxAttempts: number, retryBaseMs: number, pollMs: number }
  sessions: {
    acceptTimeoutS: number
    controlRequestTimeoutS: number
    heartbeatMs: number
    /** How often each session with a live stream is read for events no notification announced. */
    streamPollMs: number
    sweepIntervalMs: number
    controlGrantDefaultMinutes: number
    controlGrantMaxMinutes: number
  }
  codes: { guessesPerExpertPerHour: number, guessesPerAddressPerHour: number, guessesPerHour: number }
  webhooks: { allowHttp: boolean, timeoutMs: number, maxAttempts: number, retryBaseMs: number, disableAfterFailures: number }
  /** A port of its own for GET /metrics, or undefined: on the main port. */
  metricsPort: number | undefined
  offers: { maxPendingPerComputer: number, maxPerExpertPerHour: number }
  trustProxy: boolean | number | string
  signIn: {
    sessionMinutes: number
    linkMinutes: number
    /** OpenID Connect, when an identity provider is configured. */
    oidc: { issuer: string, clientId: string, clientSecret: string | undefined, usernameClaim: string, scopes: string } | undefined
  }
  limits: {
    perMinute: number
    redemptionsPerMinute: number
    redemptionsPerAddressPerMinute: number
    authFailuresPerMinute: number
    maxEventLoopDelayMs: number
    maxHeapUsedBytes: number
    maxRssBytes: number
  }
  bodyLimit: number
  importBodyLimit: number
  policyImportBodyLimit: number
  dbBusyTimeoutMs: number
  dbSynchronous: 'NORMAL' | 'FULL'
  dbCheckpointIntervalMs: number
  shutdownTimeoutMs: number
  connections: { max: number, requestTimeoutMs: number, headersTimeoutMs: number, keepAliveTimeoutMs: number, idleTimeoutMs: number }
}

/** Names of secret variables: their values never appear in an error message. */
const SECRET_VARIABLES = new Set(['RA_BOOTSTRAP_ADMIN_TOKEN', 'RA_KEY_ENCRYPTION_SECRET', 'RA_SMTP_URL', 'RA_DATABASE_URL', 'RA_OIDC_CLIENT_SECRET'])

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID'
  constructor (readonly variable: string, message: string) {
    super(`Invalid configuration: ${variable} ${message}`)
    this.name = 'ConfigError'
  }
}

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: false, strict: false })
// Only the format the schema uses, without pulling in ajv-formats here.
ajv.addFormat('uri', (s: string) => URL.canParse(s))
const validate = ajv.compile(ConfigSchema)

/**
 * Reads the `RA_*` variables from `env`, applies defaults and validates them.
 * Throws a ConfigError naming the first bad variable; an unknown `RA_*`
 * variable is refused too, because it is almost always a typo.
 */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.keys(ConfigSchema.properties)
  const raw: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('RA_') || value === undefined) continue
    if (!known.includes(name)) throw new ConfigError(name, `is not a known variable (known: ${known.join(', ')})`)
    // An empty variable means "not set", as in most shells' `VAR= cmd`.
    if (value !== '') raw[name] = value
  }
  if (!validate(raw)) {
    const [error] = validate.errors ?? []
    const variable = error?.instancePath.replace(/^\//, '') || String(error?.params?.['missingProperty'] ?? 'configuration')
    const shown = SECRET_VARIABLES.has(variable) ? '' : ` (got ${JSON.stringify(env[variable])})`
    throw new ConfigError(variable, `${error?.message ?? 'is invalid'}${shown}`)
  }
  const c = raw as RawConfig
  if (c.RA_HEADERS_TIMEOUT_MS !== undefined && c.RA_HEADERS_TIMEOUT_MS > c.RA_REQUEST_TIMEOUT_MS) {
    throw new ConfigError('RA_HEADERS_TIMEOUT_MS', `must be at most RA_REQUEST_TIMEOUT_MS (${c.RA_REQUEST_TIMEOUT_MS}) (got ${c.RA_HEADERS_TIMEOUT_MS})`)
  }
  if ((c.RA_OIDC_ISSUER === undefined) !== (c.RA_OIDC_CLIENT_ID === undefined)) {
    const missing = c.RA_OIDC_ISSUER === undefined ? 'RA_OIDC_ISSUER' : 'RA_OIDC_CLIENT_ID'
    throw new ConfigError(missing, `is required when ${missing === 'RA_OIDC_ISSUER' ? 'RA_OIDC_CLIENT_ID' : 'RA_OIDC_ISSUER'} is set`)
  }
  if (c.RA_OIDC_ISSUER !== undefined && !isHttpsOrLoopback(c.RA_OIDC_ISSUER)) {
    throw new ConfigError('RA_OIDC_ISSUER', `must be https (http only to a loopback address) (got ${JSON.stringify(c.RA_OIDC_ISSUER)})`)
  }
  if (c.RA_CONTROL_GRANT_DEFAULT_MINUTES > c.RA_CONTROL_GRANT_MAX_MINUTES) {
    throw new ConfigError('RA_CONTROL_GRANT_DEFAULT_MINUTES',
      `must be at most RA_CONTROL_GRANT_MAX_MINUTES (${c.RA_CONTROL_GRANT_MAX_MINUTES}) (got ${c.RA_CONTROL_GRANT_DEFAULT_MINUTES})`)
  }
  // A wildcard listen address is no address to give clients: default the public URL to localhost then.
  const host = ['0.0.0.0', '::', '[::]'].includes(c.RA_HOST) ? 'localhost' : c.RA_HOST
  const hostForUrl = host.includes(':') ? `[${host}]` : host
  return {
    databaseFile: path.resolve(c.RA_DATABASE_FILE),
    databaseUrl: c.RA_DATABASE_URL,
    databasePoolSize: c.RA_DATABASE_POOL_SIZE,
    workers: c.RA_WORKERS,
    host: c.RA_HOST,
    port: c.RA_PORT,
    publicBaseUrl: (c.RA_PUBLIC_BASE_URL ?? `http://${hostForUrl}:${c.RA_PORT}`).replace(/\/+$/, ''),
    logLevel: c.RA_LOG_LEVEL,
    bootstrapAdminToken: c.RA_BOOTSTRAP_ADMIN_TOKEN,
    keyEncryptionSecret: c.RA_KEY_ENCRYPTION_SECRET,
    invitationRetentionDays: c.RA_INVITATION_RETENTION_DAYS,
    ticketClockToleranceS: c.RA_TICKET_CLOCK_TOLERANCE_S,
    smtp: {
      url: c.RA_SMTP_URL,
      from: c.RA_SMTP_FROM,
      rejectUnauthorized: c.RA_SMTP_TLS_REJECT_UNAUTHORIZED,
      requireTls: c.RA_SMTP_REQUIRE_TLS,
      timeoutMs: c.RA_SMTP_TIMEOUT_MS
    },
    mailDir: path.resolve(c.RA_MAIL_DIR ?? path.join(path.dirname(path.resolve(c.RA_DATABASE_FILE)), 'mail')),
    delivery: { maxAttempts: c.RA_DELIVERY_MAX_ATTEMPTS, retryBaseMs: c.RA_DELIVERY_RETRY_BASE_MS, pollMs: c.RA_DELIVERY_POLL_MS },
    sessions: {
      acceptTimeoutS: c.RA_SESSION_ACCEPT_TIMEOUT_S,
      controlRequestTimeoutS: c.RA_CONTROL_REQUEST_TIMEOUT_S,
      heartbeatMs: c.RA_SSE_HEARTBEAT_MS,
      streamPollMs: c.RA_STREAM_POLL_INTERVAL_MS,
      sweepIntervalMs: c.RA_SWEEP_INTERVAL_MS,
      controlGrantDefaultMinutes: c.RA_CONTROL_GRANT_DEFAULT_MINUTES,
      controlGrantMaxMinutes: c.RA_CONTROL_GRANT_MAX_MINUTES
    },
    codes: {
      guessesPerExpertPerHour: c.RA_CODE_GUESSES_PER_EXPERT_PER_HOUR,
      guessesPerAddressPerHour: c.RA_CODE_GUESSES_PER_ADDRESS_PER_HOUR,
      guessesPerHour: c.RA_CODE_GUESSES_PER_HOUR
    },
    webhooks: {
      allowHttp: c.RA_WEBHOOKS_ALLOW_HTTP,
      timeoutMs: c.RA_WEBHOOK_TIMEOUT_MS,
      maxAttempts: c.RA_WEBHOOK_MAX_ATTEMPTS,
      retryBaseMs: c.RA_WEBHOOK_RETRY_BASE_MS,
      disableAfterFailures: c.RA_WEBHOOK_DISABLE_AFTER_FAILURES
    },
    metricsPort: c.RA_METRICS_PORT,
    offers: { maxPendingPerComputer: c.RA_OFFER_MAX_PENDING_PER_COMPUTER, maxPerExpertPerHour: c.RA_OFFER_MAX_PER_EXPERT_PER_HOUR },
    trustProxy: c.RA_TRUST_PROXY === 'true' ? true : c.RA_TRUST_PROXY === 'false' ? false : /^\d+$/.test(c.RA_TRUST_PROXY) ? Number(c.RA_TRUST_PROXY) : c.RA_TRUST_PROXY.replace(/\s+/g, ''),
    signIn: {
      sessionMinutes: c.RA_SIGN_IN_SESSION_MINUTES,
      linkMinutes: c.RA_SIGN_IN_LINK_MINUTES,
      oidc: c.RA_OIDC_ISSUER === undefined || c.RA_OIDC_CLIENT_ID === undefined
        ? undefined
        : {
            issuer: c.RA_OIDC_ISSUER,
            clientId: c.RA_OIDC_CLIENT_ID,
            clientSecret: c.RA_OIDC_CLIENT_SECRET,
            usernameClaim: c.RA_OIDC_USERNAME_CLAIM,
            scopes: c.RA_OIDC_SCOPES
          }
    },
    limits: {
      perMinute: c.RA_RATE_LIMIT_PER_MINUTE,
      redemptionsPerMinute: c.RA_REDEMPTION_RATE_LIMIT_PER_MINUTE,
      redemptionsPerAddressPerMinute: c.RA_REDEMPTION_RATE_LIMIT_PER_ADDRESS_PER_MINUTE,
      authFailuresPerMinute: c.RA_AUTH_FAILURE_LIMIT_PER_MINUTE,
      maxEventLoopDelayMs: c.RA_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: c.RA_MAX_HEAP_USED_BYTES,
      maxRssBytes: c.RA_MAX_RSS_BYTES
    },
    bodyLimit: c.RA_BODY_LIMIT,
    importBodyLimit: c.RA_IMPORT_BODY_LIMIT,
    policyImportBodyLimit: c.RA_POLICY_IMPORT_BODY_LIMIT,
    dbBusyTimeoutMs: c.RA_DB_BUSY_TIMEOUT_MS,
    dbSynchronous: c.RA_DB_SYNCHRONOUS,
    dbCheckpointIntervalMs: c.RA_DB_CHECKPOINT_INTERVAL_MS,
    shutdownTimeoutMs: c.RA_SHUTDOWN_TIMEOUT_MS,
    connections: {
      max: c.RA_MAX_CONNECTIONS ?? defaultMaxConnections(),
      requestTimeoutMs: c.RA_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: c.RA_HEADERS_TIMEOUT_MS ?? Math.min(10_000, c.RA_REQUEST_TIMEOUT_MS),
      keepAliveTimeoutMs: c.RA_KEEP_ALIVE_TIMEOUT_MS,
      // A socket with no traffic either way for this long is closed; event streams send heartbeats well within it.
      idleTimeoutMs: Math.max(60_000, 2 * c.RA_SSE_HEARTBEAT_MS, c.RA_REQUEST_TIMEOUT_MS, c.RA_KEEP_ALIVE_TIMEOUT_MS + 1000)
    }
  }
}

/**
 * The process's soft limit on open files less a tenth of it (at least 100,
 * at most 100,000 connections), so that client connections alone can never
 * use up the descriptors the database, logs and mail need (a few dozen), while
 * event streams, which each hold a socket, can use the rest: 18,000 under a
 * limit of 20,000 (bench:streams holds 15,000). 1,000 where the limit cannot be
 * read.
 */
export function defaultMaxConnections (limitsFile = '/proc/self/limits'): number {
  let limit: number | undefined
  try {
    const line = readFileSync(limitsFile, 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0]
    if (soft !== undefined && /^\d+$/.test(soft)) limit = Number(soft)
  } catch {}
  if (limit === undefined) return 1000
  return Math.max(16, Math.min(100_000, limit - Math.max(100, Math.ceil(limit / 10))))
}

/** Whether `url` is https, or http to a loopback address (a test identity provider, a local one). */
export function isHttpsOrLoopback (url: string): boolean {
  const u = new URL(url)
  if (u.protocol === 'https:') return true
  return u.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)
}
