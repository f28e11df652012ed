import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Static, TSchema } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { notFound } from '../errors.js'
import { actorContext } from '../plugins/auth.js'
import type { PageOf } from '../repositories/paging.js'
import { type IdParams, Page, errorResponses } from '../schemas/common.js'
import {
  ComputerCreateSchema, ComputerSchema, ComputerUpdateSchema, DirectoryImportResultSchema, DirectoryImportSchema,
  DirectoryListQuery, DomainCreateSchema, DomainListQuery, DomainSchema, DomainUpdateSchema, GroupCreateSchema, GroupSchema,
  GroupUpdateSchema, RefParams, UserCreateSchema, UserSchema, UserUpdateSchema, type DirectoryListQueryType
} from '../schemas/directory.js'
import type { ActorContext } from '../services/context.js'
import type { DirectoryKind } from '../services/directory-service.js'

const read = { access: { scope: 'directory:read' as const } }
const write = { access: { scope: 'directory:write' as const } }

interface Resource<C extends TSchema, U extends TSchema, I extends TSchema> {
  path: string
  noun: DirectoryKind
  /** How `:id` names one: by id or by name. */
  params: TSchema
  create: C
  update: U
  item: I
  /** Query schema of the list route (default: paging and a `domain` filter). */
  listQuery?: TSchema
  list: (query: DirectoryListQueryType) => Promise<PageOf<Static<I>>>
  get: (id: string) => Promise<Static<I> | undefined>
  add: (body: Static<C>, ctx: ActorContext) => Promise<Static<I>>
  change: (id: string, body: Static<U>, ctx: ActorContext) => Promise<Static<I>>
  remove: (id: string, ctx: ActorContext) => Promise<void>
}

/** The five routes every directory object has: list, read, create, update (partial), delete. */
function resource<C extends TSchema, U extends TSchema, I extends TSchema> (fastify: FastifyInstance, r: Resource<C, U, I>): void {
  // Generic over the schemas, so typed by hand here: the schemas still validate every request.
  const app = fastify
  const tags = ['Directory']
  app.get<{ Querystring: DirectoryListQueryType }>(r.path, {
    config: read,
    schema: { tags, summary: `List ${r.noun}s, by name`, querystring: r.listQuery ?? DirectoryListQuery, response: { 200: Page(r.item), ...errorResponses() } }
  }, async (request) => r.list(request.query))

  const byRef = { ref: r.noun }
  app.get<{ Params: IdParams }>(`${r.path}/:id`, {
    config: { ...read, ...byRef },
    schema: { tags, summary: `One ${r.noun}`, params: r.params, response: { 200: r.item, ...errorResponses(404) } }
  }, async (request) => (await r.get(request.params.id)) ?? Promise.reject(notFound(r.noun, request.params.id)))

  app.post<{ Body: Static<C> }>(r.path, {
    config: write,
    schema: { tags, summary: `Create a ${r.noun}`, body: r.create, response: { 201: r.item, ...errorResponses(409, 413, 422) } }
  }, async (request, reply) => reply.code(201).send(await r.add(request.body, actorContext(request))))

  app.patch<{ Params: IdParams, Body: Static<U> }>(`${r.path}/:id`, {
    config: { ...write, ...byRef },
    schema: {
      tags,
      summary: `Change a ${r.noun} (fields given replace, lists whole)`,
      params: r.params,
      body: r.update,
      response: { 200: r.item, ...errorResponses(404, 409, 413, 422) }
    }
  }, async (request) => r.change(request.params.id, request.body, actorContext(request)))

  app.delete<{ Params: IdParams }>(`${r.path}/:id`, {
    config: { ...write, ...byRef },
    schema: { tags, summary: `Delete a ${r.noun}`, params: r.params, response: { 204: Type.Null(), ...errorResponses(404, 409) } }
  }, async (request, reply) => {
    await r.remove(request.params.id, actorContext(request))
    return reply.code(204).send(null)
  })
}

const directory: FastifyPluginAsyncTypebox<{ importBodyLimit: number }> = async (fastify, opts) => {
  const { directory: service, repos } = fastify.services

  resource(fastify, {
    path: '/v1/domains',
    noun: 'domain',
    params: RefParams.domain,
    create: DomainCreateSchema,
    update: DomainUpdateSchema,
    item: DomainSchema,
    listQuery: DomainListQuery,
    list: (q) => repos.domains.list(q),
    get: (id) => repos.domains.get(id),
    add: (body, ctx) => service.createDomain(body, ctx),
    change: (id, body, ctx) => service.updateDomain(id, body, ctx),
    remove: (id, ctx) => service.deleteDomain(id, ctx)
  })
  resource(fastify, {
    path: '/v1/users',
    noun: 'user',
    params: RefParams.account,
    create: UserCreateSchema,
    update: UserUpdateSchema,
    item: UserSchema,
    list: (q) => repos.accounts.listUsers(q),
    get: (id) => repos.accounts.getUser(id),
    add: (body, ctx) => service.createUser(body, ctx),
    change: (id, body, ctx) => service.updateUser(id, body, ctx),
    remove: (id, ctx) => service.deleteUser(id, ctx)
  })
  resource(fastify, {
    path: '/v1/groups',
    noun: 'group',
    params: RefParams.account,
    create: GroupCreateSchema,
    update: GroupUpdateSchema,
    item: GroupSchema,
    list: (q) => repos.accounts.listGroups(q),
    get: (id) => repos.accounts.getGroup(id),
    add: (body, ctx) => service.createGroup(body, ctx),
    change: (id, body, ctx) => service.updateGroup(id, body, ctx),
    remove: (id, ctx) => service.deleteGroup(id, ctx)
  })
  resource(fastify, {
    path: '/v1/computers',
    noun: 'computer',
    params: RefParams.computer,
    create: ComputerCreateSchema,
    update: ComputerUpdateSchema,
    item: ComputerSchema,
    list: (q) => repos.computers.list(q),
    get: (id) => repos.computers.get(id),
    add: (body, ctx) => service.createComputer(body, ctx),
    change: (id, body, ctx) => service.updateComputer(id, body, ctx),
    remove: (id, ctx) => service.deleteComputer(id, ctx)
  })

  fastify.post('/v1/directory/import', {
    config: write,
    bodyLimit: opts.importBodyLimit,
    schema: {
      tags: ['Directory'],
      summary: 'Load a whole directory document in one transaction (all or nothing)',
      body: DirectoryImportSchema,
      response: { 200: DirectoryImportResultSchema, ...errorResponses(409, 413, 422) }
    }
  }, async (request) => service.importDirectory(request.body, actorContext(request)))
}
export default directory
