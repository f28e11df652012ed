import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { AppError } from '../errors.js'

const Status = Type.Object({ status: Type.String() })

const health: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/healthz', {
    // Liveness: answered while the process can answer at all, even under pressure (an orchestrator restarts on failure).
    config: { shed: false },
    schema: { tags: ['Operations'], summary: 'Liveness: the process is up', security: [], response: { 200: Status } }
  }, async () => ({ status: 'ok' }))

  fastify.get('/readyz', {
    schema: {
      tags: ['Operations'],
      summary: 'Readiness: the database is open, every migration applied, and the service not under pressure (503 then)',
      security: [],
      response: { 200: Status, 503: Type.Ref('Error') }
    }
  }, async () => {
    let ready = false
    try { ready = await fastify.services.isReady() } catch {}
    if (!ready) throw new AppError('SERVICE_UNAVAILABLE', 'the database is not open or not migrated')
    return { status: 'ready' }
  })
}
export default health
