import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import { ErrorSchema } from '../schemas/common.js'

export const API_DESCRIPTION = `The control plane for Remote Assistance: who may connect to which computer, in which mode, until when.

Every \`/v1\` call needs \`Authorization: Bearer <api token>\`. ` +
  'Errors are `{ statusCode, code, error, message }` with a stable `code`, and `field` when one input field is at fault.'

/**
 * A query parameter with a default (`limit`) is not required of the caller,
 * although its TypeBox schema lists it as required so that handlers always
 * see a value (Ajv fills the default in): the document says what callers must send.
 */
function withOptionalDefaults<T extends { querystring?: unknown }> (schema: T): T {
  const qs = schema.querystring as { required?: string[], properties?: Record<string, { default?: unknown }> } | undefined
  if (!qs?.required) return schema
  const required = qs.required.filter((name) => qs.properties?.[name]?.default === undefined)
  const querystring: Record<string, unknown> = { ...qs, required }
  if (required.length === 0) delete querystring['required']
  return { ...schema, querystring }
}

/** OpenAPI 3.1 from the route schemas; served at /openapi.json and /docs. */
export default fp(async (fastify) => {
  fastify.addSchema(ErrorSchema)
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Remote Assistance invitation ticket service', version: '1', description: API_DESCRIPTION },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token (`ra_…`).' } }
      },
      security: [{ bearerAuth: [] }],
      tags: [
        { name: 'Operations', description: 'Health, readiness and metrics' },
        { name: 'Tokens', description: 'API tokens (administrator)' },
        { name: 'Directory', description: 'Domains, trusts, users, groups and computers (administrator)' },
        { name: 'Policy', description: 'Group-Policy-style Remote Assistance policy: objects, domain links, Local Computer Policy, resultant policy' },
        { name: 'Invitations', description: 'Invitations, signed tickets and redemption' },
        { name: 'Sessions', description: 'Sessions and the novice\'s consent: accept, control requests, stop, end, live events' },
        { name: 'Offers', description: 'Offer Remote Assistance: who may offer help to which computer, and what the computer still lacks' },
        { name: 'Keys', description: 'Ticket-signing keys: JWKS and rotation' },
        { name: 'Audit', description: 'The append-only audit trail' }
      ]
    },
    transform: ({ schema, url }) => ({ schema: schema && withOptionalDefaults(schema), url }),
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json['$id'] ?? `def-${i}`) }
  })
  await fastify.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  fastify.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger())
}, { name: 'swagger', dependencies: ['errors'] })
