import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { Ajv } from 'ajv'
import type { JSONWebKeySet } from 'jose'
import addFormats from 'ajv-formats'
import { ConfigError, loadConfig } from './config.js'
import { MigrationError } from './db/migrate.js'
import { DatabaseStartError } from './db/storage.js'
import { AppError, fieldPath } from './errors.js'
import { openServices } from './services/index.js'
import { CLI_CONTEXT } from './services/context.js'
import { verifyReceipt } from './services/receipt-verifier.js'
import { ConfigurationError } from './services/tickets.js'
import { TokenCreateSchema, type TokenCreate } from './schemas/tokens.js'

const USAGE = `Usage: npm run cli -- <command>

  tokens create --admin [--label TEXT] [--expires ISO-8601]
  tokens create --user 'DOMAIN\\name' [--label TEXT] [--expires ISO-8601]
  tokens create --integration NAME --scope SCOPE [--scope SCOPE …] [--label TEXT] [--expires ISO-8601]
  tokens list [--all]            list tokens (never their secrets); --all includes revoked ones
  tokens revoke TOKEN-ID
  sign-in-link 'DOMAIN\\name'     a one-time link that signs that user in to the pages (valid RA_SIGN_IN_LINK_MINUTES)
  keys rotate                    a new ticket-signing key; the old one verifies until its tickets expire
  migrate                        apply pending database migrations and exit
  verify-receipt FILE [--jwks JWKS-FILE]
                                 check a consent receipt (GET /v1/sessions/{id}/receipt) offline: its signature,
                                 with the keys of JWKS-FILE (the service's /.well-known/jwks.json) or else of
                                 this database, and every link of its hash chain; exit 0 valid, 1 not

Works offline on the database named by RA_DATABASE_FILE (default ./data/ra.sqlite),
also while the service runs. Every change is written to the audit trail as actor "cli".`

const ajv = new Ajv({ strict: false, allErrors: false })
addFormats.default(ajv)
const validateTokenCreate = ajv.compile<TokenCreate>(TokenCreateSchema)

export async function run (argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      admin: { type: 'boolean' },
      user: { type: 'string' },
      integration: { type: 'string' },
      scope: { type: 'string', multiple: true },
      label: { type: 'string' },
      expires: { type: 'string' },
      all: { type: 'boolean' },
      jwks: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  const command = positionals.join(' ')
  if (values.help || positionals.length === 0) { out(USAGE); return positionals.length === 0 && !values.help ? 2 : 0 }

  if (positionals[0] === 'verify-receipt') {
    if (positionals.length !== 2) { out('verify-receipt needs exactly one FILE'); return 2 }
    return await verifyReceiptFile(positionals[1]!, values.jwks, out)
  }

  const config = loadConfig()
  const { services, applied } = await openServices(config)
  try {
    if (command === 'migrate') {
      out(applied.length ? `applied: ${applied.join(', ')}` : 'nothing to apply')
      return 0
    }
    if (command === 'keys rotate') {
      await services.tickets.init()
      const { kid, retired } = await services.tickets.rotate(CLI_CONTEXT)
      out(`active key: ${kid}${retired.length ? ` (retired: ${retired.join(', ')})` : ''}`)
      return 0
    }
    if (command === 'tokens create') {
      const kinds = [
        values.admin ? 'admin' : null,
        values.user !== undefined ? 'user' : null,
        values.integration !== undefined ? 'integration' : null
      ].filter(Boolean)
      if (kinds.length !== 1) { out('tokens create needs exactly one of --admin, --user, --integration'); return 2 }
      const input = {
        principal: values.admin
          ? { type: 'admin' }
          : values.user !== undefined
            ? { type: 'user', user: values.user }
            : { type: 'integration', name: values.integration, scopes: values.scope ?? [] },
        ...(values.label !== undefined ? { label: values.label } : {}),
        ...(values.expires !== undefined ? { expiresAt: values.expires } : {})
      }
      if (!validateTokenCreate(input)) {
        const [e] = validateTokenCreate.errors ?? []
        out(`invalid: ${fieldPath(e?.instancePath ?? '')} ${e?.message ?? ''}`.trim())
        return 2
      }
      const { token, tokenInfo } = await services.tokens.create(input, 'cli', CLI_CONTEXT)
      out(`token id: ${tokenInfo.id}`)
      out(`token (shown once, store it now): ${token}`)
      return 0
    }
    if (command === 'tokens list') {
      let cursor: string | undefined
      do {
        const page = await services.tokens.list({ limit: 500, cursor, includeRevoked: values.all === true })
        for (const t of page.items) {
          const who = t.principal.type === 'user'
            ? `user ${t.principal.user}`
            : t.principal.type === 'integration'
              ? `integration ${t.principal.name} [${t.principal.scopes?.join(' ')}]`
              : 'admin'
          out(`${t.id}  ${who}  created ${t.createdAt}` +
            `${t.revokedAt ? `  revoked ${t.revokedAt}` : ''}` +
            `${t.expiresAt ? `  expires ${t.expiresAt}` : ''}` +
            `${t.label ? `  "${t.label}"` : ''}`)
        }
        cursor = page.nextCursor ?? undefined
      } while (cursor)
      return 0
    }
    if (positionals[0] === 'sign-in-link' && positionals.length === 2) {
      const { url, user, expiresAt } = await services.signIn.createLink(positionals[1]!, CLI_CONTEXT)
      out(`sign-in link for ${user}, valid once until ${expiresAt} (give it to them only):`)
      out(url)
      return 0
    }
    if (positionals[0] === 'tokens' && positionals[1] === 'revoke' && positionals.length === 3) {
      const info = await services.tokens.revoke(positionals[2]!, CLI_CONTEXT)
      out(`revoked ${info.id} at ${info.revokedAt}`)
      return 0
    }
    out(`unknown command: ${command}\n\n${USAGE}`)
    return 2
  } finally {
    // Signals (a revoked token ends its live sessions) go out once their change has committed: the work
    // they start finishes before the database closes.
    await services.drain()
    services.mailer.close()
    await services.storage.close()
  }
}

/** verify-receipt: with --jwks nothing but the two files is read; without, the keys come from the service's database. */
async function verifyReceiptFile (file: string, jwksFile: string | undefined, out: (line: string) => void): Promise<number> {
  const readJson = async (name: string, what: string): Promise<unknown> => {
    try {
      return JSON.parse(await readFile(name, 'utf8'))
    } catch (err) {
      throw new AppError('VALIDATION_FAILED', `${what} ${name}: ${(err as Error).message}`)
    }
  }
  const receipt = await readJson(file, 'the receipt')
  let jwks: JSONWebKeySet
  if (jwksFile !== undefined) {
    jwks = await readJson(jwksFile, 'the key set') as JSONWebKeySet
  } else {
    const { services } = await openServices(loadConfig())
    try {
      jwks = await services.tickets.jwks() as JSONWebKeySet
    } finally {
      await services.storage.close()
    }
  }
  const verdict = await verifyReceipt(receipt, jwks)
  if (verdict.valid) {
    out(`valid: ${verdict.entries} consent ${verdict.entries === 1 ? 'entry' : 'entries'} of session ${verdict.claims!.sub}, ` +
      `signed by ${verdict.claims!.iss} at ${new Date(verdict.claims!.iat * 1000).toISOString()}; head ${verdict.claims!.head}`)
    return 0
  }
  out('NOT valid:')
  for (const p of verdict.problems) out(`  ${p.seq !== undefined ? `[entry ${p.seq}] ` : ''}${p.problem}`)
  return 1
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    process.exitCode = await run(process.argv.slice(2), (line) => process.stdout.write(line + '\n'))
  } catch (err) {
    if (
      err instanceof AppError ||
      err instanceof ConfigError ||
      err instanceof MigrationError ||
      err instanceof ConfigurationError ||
      err instanceof DatabaseStartError ||
      (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
    ) {
      process.stderr.write(`ra-cli: ${(err as Error).message}\n`)
      process.exitCode = 2
    } else {
      throw err
    }
  }
}
