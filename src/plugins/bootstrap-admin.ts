import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'

export const GENERATED_TOKEN_FILE = 'admin-token'

/**
 * Makes sure an administrator can get in: RA_BOOTSTRAP_ADMIN_TOKEN is registered
 * (idempotently); without it, a first start generates a token into a file
 * beside the database, readable by the service's own user only. The token is
 * never logged, only the file's path.
 */
export default fp<{ config: Config }>(async (fastify, { config }) => {
  const tokens = fastify.services.tokens
  if (config.bootstrapAdminToken !== undefined) {
    const { created, revoked } = await tokens.registerBootstrapToken(config.bootstrapAdminToken)
    if (created) fastify.log.info('RA_BOOTSTRAP_ADMIN_TOKEN registered as an administrator token')
    if (revoked) fastify.log.warn('RA_BOOTSTRAP_ADMIN_TOKEN was revoked and stays revoked; set a new value to get a working administrator token')
    return
  }
  const token = await tokens.generateAdminTokenIfNone()
  if (token !== null) {
    const file = path.join(path.dirname(config.databaseFile), GENERATED_TOKEN_FILE)
    // On PostgreSQL nothing else has made the folder (SQLite makes it for its file).
    mkdirSync(path.dirname(file), { recursive: true })
    // Remove first: `mode` only applies to a file the write creates.
    rmSync(file, { force: true })
    writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' })
    fastify.log.warn({ file }, 'no administrator token existed: one was generated and written to this file (mode 0600); read it, then delete the file')
  }
}, { name: 'bootstrap-admin', dependencies: ['storage'] })
