// Writes openapi/openapi.json from the route schemas. A test fails when the committed file is stale.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { openApiDocument } from '../src/openapi.js'
import { projectRoot } from '../src/paths.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'ra-openapi-'))
try {
  const file = path.join(projectRoot, 'openapi', 'openapi.json')
  writeFileSync(file, await openApiDocument(path.join(dir, 'ra.sqlite')))
  console.log(`wrote ${path.relative(process.cwd(), file)}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
