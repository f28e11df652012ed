import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AuditEventSchema, AuditQuery } from '../schemas/audit.js'
import { Page, errorResponses } from '../schemas/common.js'

const audit: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/v1/audit-events', {
    config: { access: { scope: 'audit:read' } },
    schema: {
      tags: ['Audit'],
      summary: 'Query the audit trail, newest first',
      querystring: AuditQuery,
      response: { 200: Page(AuditEventSchema), ...errorResponses() }
    }
  }, async (request) => fastify.services.audit.list(request.query))
}
export default audit
