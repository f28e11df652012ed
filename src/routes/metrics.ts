import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorResponses } from '../schemas/common.js'

/**
 * GET /metrics on the main port, for the administrator or an integration with
 * `metrics:read` (Prometheus sends its token as `Authorization: Bearer`).
 * Registered only without RA_METRICS_PORT; with it, plugins/metrics.ts serves
 * the same text on that port instead.
 */
const metrics: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/metrics', {
    // Answered under pressure too: the figures matter most when the service is shedding load.
    config: { access: { scope: 'metrics:read' }, shed: false },
    schema: {
      tags: ['Operations'],
      summary: 'Prometheus metrics, in the text format (administrator or metrics:read); on RA_METRICS_PORT instead when that is set',
      response: {
        200: {
          description: 'Prometheus text format 0.0.4',
          content: { 'text/plain': { schema: Type.String() } }
        },
        ...errorResponses()
      }
    }
  }, async (_request, reply) => {
    const text = await fastify.metrics.text()
    return reply.type(fastify.metrics.contentType).header('cache-control', 'no-store').send(text)
  })
}
export default metrics
