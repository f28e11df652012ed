import { buildApp } from './app.js'
import { loadConfig } from './config.js'

/** The OpenAPI document as committed in openapi/openapi.json: built from the route schemas, independent of the environment. */
export async function openApiDocument (databaseFile: string): Promise<string> {
  const app = await buildApp(loadConfig({
    RA_DATABASE_FILE: databaseFile,
    RA_LOG_LEVEL: 'silent',
    RA_BOOTSTRAP_ADMIN_TOKEN: 'openapi-generation-only-token-0000000000'
  }))
  try {
    return JSON.stringify(app.swagger(), null, 2) + '\n'
  } finally {
    await app.close()
  }
}
