import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { UUID_PATTERN } from '../db/ids.js'
import { notFound } from '../errors.js'
import type { DirectoryKind } from '../services/directory-service.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The `:id` path parameter names this kind of directory object: an id, or its name (`DOMAIN\name`). */
    ref?: DirectoryKind
  }
}

/**
 * Path parameters name directory objects as bodies do: by id or by name
 * (`/v1/computers/CONTOSO%5CPC-1/effective-policy`). Before the handler runs,
 * a name is replaced by its object's id (404 when there is none), so handlers
 * and services only ever see ids. The route's params schema checks the form.
 */
export default fp(async (fastify) => {
  // Only on the routes that name an object in their path: every other request pays nothing.
  fastify.addHook('onRoute', (route) => {
    const kind = route.config?.ref
    if (kind === undefined) return
    const resolve = async (request: FastifyRequest): Promise<void> => {
      const params = request.params as { id?: string }
      if (params.id === undefined || UUID_PATTERN.test(params.id)) return
      const id = await fastify.services.directory.idOf(kind, params.id)
      if (id === undefined) throw notFound(kind, params.id)
      params.id = id
    }
    route.preHandler = [...[route.preHandler ?? []].flat(), resolve]
  })
}, { name: 'path-refs', dependencies: ['storage'] })
