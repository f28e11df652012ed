import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { callerOf, principalOf } from '../plugins/auth.js'
import { IdParamsSchema, Page, errorResponses } from '../schemas/common.js'
import {
  WebhookCreateSchema, WebhookCreatedSchema, WebhookDeliveryParams, WebhookDeliveryQuery, WebhookDeliverySchema, WebhookListQuery,
  WebhookSchema, WebhookSecretRotateSchema, WebhookSecretSchema, WebhookUpdateSchema
} from '../schemas/webhooks.js'

/** The administrator, or an integration with `webhooks:write` (which sees only its own subscriptions). */
const access = { access: { scope: 'webhooks:write' as const } }
const tags = ['Webhooks']

const webhooks: FastifyPluginAsyncTypebox = async (fastify) => {
  const service = fastify.services.webhooks

  fastify.post('/v1/webhooks', {
    config: access,
    schema: {
      tags,
      summary: 'Subscribe to events (the signing secret is returned once)',
      description: 'Deliveries follow Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature` headers, ' +
        'HMAC-SHA256 with the `whsec_` secret. At least once, not in order.',
      body: WebhookCreateSchema,
      response: { 201: WebhookCreatedSchema, ...errorResponses(422) }
    }
  }, async (request, reply) => {
    const created = await service.create(request.body, callerOf(request))
    return reply.code(201).header('cache-control', 'no-store').send(created)
  })

  fastify.get('/v1/webhooks', {
    config: access,
    schema: {
      tags,
      summary: 'List subscriptions (an integration sees its own)',
      querystring: WebhookListQuery,
      response: { 200: Page(WebhookSchema), ...errorResponses() }
    }
  }, async (request) => service.list(request.query, principalOf(request)))

  fastify.get('/v1/webhooks/:id', {
    config: access,
    schema: { tags, summary: 'One subscription', params: IdParamsSchema, response: { 200: WebhookSchema, ...errorResponses(404) } }
  }, async (request) => service.get(request.params.id, principalOf(request)))

  fastify.patch('/v1/webhooks/:id', {
    config: access,
    schema: {
      tags,
      summary: 'Change a subscription: URL, events, description, enabled',
      params: IdParamsSchema,
      body: WebhookUpdateSchema,
      response: { 200: WebhookSchema, ...errorResponses(404, 422) }
    }
  }, async (request) => service.update(request.params.id, request.body, callerOf(request)))

  fastify.delete('/v1/webhooks/:id', {
    config: access,
    schema: { tags, summary: 'Delete a subscription and its deliveries', params: IdParamsSchema, response: { 204: Type.Null(), ...errorResponses(404) } }
  }, async (request, reply) => {
    await service.delete(request.params.id, callerOf(request))
    return reply.code(204).send(null)
  })

  fastify.post('/v1/webhooks/:id/secret', {
    config: access,
    schema: {
      tags,
      summary: 'Rotate the signing secret (the old one keeps signing during the overlap)',
      params: IdParamsSchema,
      body: WebhookSecretRotateSchema,
      response: { 200: WebhookSecretSchema, ...errorResponses(404) }
    }
  }, async (request, reply) => {
    const rotated = await service.rotateSecret(request.params.id, request.body.overlapMinutes ?? 1440, callerOf(request))
    return reply.header('cache-control', 'no-store').send(rotated)
  })

  fastify.get('/v1/webhooks/:id/deliveries', {
    config: access,
    schema: {
      tags,
      summary: 'Deliveries, newest first, with every attempt\'s time, status code or error',
      params: IdParamsSchema,
      querystring: WebhookDeliveryQuery,
      response: { 200: Page(WebhookDeliverySchema), ...errorResponses(404) }
    }
  }, async (request) => service.deliveries(request.params.id, request.query, principalOf(request)))

  fastify.post('/v1/webhooks/:id/deliveries/:deliveryId/retry', {
    config: access,
    schema: {
      tags,
      summary: 'Send a delivered, failed or cancelled delivery again (same webhook-id)',
      params: WebhookDeliveryParams,
      response: { 202: WebhookDeliverySchema, ...errorResponses(404, 409) }
    }
  }, async (request, reply) => {
    const delivery = await service.retry(request.params.id, request.params.deliveryId, callerOf(request))
    fastify.services.webhookWorker?.kick()
    return reply.code(202).send(delivery)
  })
}
export default webhooks
