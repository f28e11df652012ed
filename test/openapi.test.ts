import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { openApiDocument } from '../src/openapi.js'
import { projectRoot } from '../src/paths.js'

t.test('openapi/openapi.json is what the route schemas generate (run `npm run openapi` when this fails)', async (t) => {
  const generated = await openApiDocument(path.join(t.testdir(), 'ra.sqlite'))
  const committed = readFileSync(path.join(projectRoot, 'openapi', 'openapi.json'), 'utf8')
  t.ok(generated === committed, 'openapi/openapi.json is stale: run `npm run openapi` and commit the result')
})

t.test('the document covers the API and its security', async (t) => {
  const doc = JSON.parse(await openApiDocument(path.join(t.testdir(), 'ra.sqlite')))
  t.equal(doc.openapi, '3.1.0')
  for (const p of [
    '/v1/tokens', '/v1/domains', '/v1/users/{id}', '/v1/groups', '/v1/computers/{id}', '/v1/directory/import', '/v1/audit-events', '/healthz', '/readyz'
  ]) {
    t.ok(doc.paths[p], p)
  }
  t.same(doc.security, [{ bearerAuth: [] }])
  t.same(doc.paths['/healthz'].get.security, [], 'health needs no token')
  t.match(doc.paths['/v1/users'].post.responses['409'].content['application/json'].schema, { $ref: '#/components/schemas/Error' })
  t.equal(doc.paths['/v1/users'].post.requestBody.content['application/json'].schema.additionalProperties, false)
})

t.test('a query parameter with a default is not required in the document (audit-events limit defaults to 50)', async (t) => {
  const doc = JSON.parse(await openApiDocument(path.join(t.testdir(), 'ra.sqlite')))
  for (const p of ['/v1/audit-events', '/v1/users', '/v1/invitations', '/v1/sessions']) {
    const limit = doc.paths[p].get.parameters.find((x: { name: string }) => x.name === 'limit')
    t.match(limit, { in: 'query', schema: { default: 50 } }, p)
    t.notOk(limit.required, `${p}: limit is optional`)
  }
  const expert = doc.paths['/v1/computers/{id}/offer-check'].get.parameters.find((x: { name: string }) => x.name === 'expert')
  t.equal(expert.required, true, 'a parameter without a default stays required')
})
