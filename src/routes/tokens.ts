import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { actorContext } from '../plugins/auth.js'
import { IdParamsSchema, Page, errorResponses } from '../schemas/common.js'
import { TokenCreateSchema, TokenCreatedSchema, TokenListQuery, TokenSchema } from '../schemas/tokens.js'

/** Administrator only: `scope: null` admits no integration. */
const adminOnly = { access: { scope: null } }

const tokens: FastifyPluginAsyncTypebox = async (fastify) => {
  const service = fastify.services.tokens

  fastify.post('/v1/tokens', {
    config: adminOnly,
    schema: {
      tags: ['Tokens'],
      summary: 'Create an API token (returned once)',
      body: TokenCreateSchema,
      response: { 201: TokenCreatedSchema, ...errorResponses(422) }
    }
  }, async (request, reply) => {
    const created = await service.create(request.body, 'api', actorContext(request))
    return reply.code(201).header('cache-control', 'no-store').send(created)
  })

  fastify.get('/v1/tokens', {
    config: adminOnly,
    schema: {
      tags: ['Tokens'],
      summary: 'List API tokens (never their secrets)',
      querystring: TokenListQuery,
      response: { 200: Page(TokenSchema), ...errorResponses() }
    }
  }, async (request) => service.list(request.query))

  fastify.get('/v1/tokens/:id', {
    config: adminOnly,
    schema: { tags: ['Tokens'], summary: 'One API token', params: IdParamsSchema, response: { 200: TokenSchema, ...errorResponses(404) } }
  }, async (request) => service.get(request.params.id))

  fastify.delete('/v1/tokens/:id', {
    config: adminOnly,
    schema: { tags: ['Tokens'], summary: 'Revoke an API token', params: IdParamsSchema, response: { 200: TokenSchema, ...errorResponses(404) } }
  }, async (request) => service.revoke(request.params.id, actorContext(request)))
}
export default tokens
