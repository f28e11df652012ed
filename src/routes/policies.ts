import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { callerOf } from '../plugins/auth.js'
import { IdParamsSchema, Page, errorResponses } from '../schemas/common.js'
import { RefParams } from '../schemas/directory.js'
import {
  EffectivePolicySchema, LocalPolicyPutSchema, LocalPolicySavedSchema, LocalPolicySchema, PolicyCreateSchema, PolicyImportedSchema, PolicyImportQuery,
  PolicyLinksPutSchema, PolicyLinksSchema, PolicyListQuery, PolicySavedSchema, PolicySchema, PolicyUpdateSchema
} from '../schemas/policy.js'

/** Users may read policy and, when O11 allows them, edit it; integrations need the policies scopes. */
const read = { access: { scope: 'policies:read' as const, users: true } }
const write = { access: { scope: 'policies:write' as const, users: true } }
const tags = ['Policy']
const OCTET_STREAM = 'application/octet-stream'

const policies: FastifyPluginAsyncTypebox<{ importBodyLimit: number }> = async (fastify, opts) => {
  const service = fastify.services.policy

  fastify.get('/v1/policies', {
    config: read,
    schema: { tags, summary: 'List policy objects, by name', querystring: PolicyListQuery, response: { 200: Page(PolicySchema), ...errorResponses() } }
  }, async (request) => fastify.services.repos.policies.list(request.query))

  fastify.get('/v1/policies/:id', {
    config: read,
    schema: { tags, summary: 'One policy object, with its links', params: IdParamsSchema, response: { 200: PolicySchema, ...errorResponses(404) } }
  }, async (request) => service.get(request.params.id))

  fastify.post('/v1/policies', {
    config: write,
    schema: { tags, summary: 'Create a policy object (O11)', body: PolicyCreateSchema, response: { 201: PolicySavedSchema, ...errorResponses(409, 413, 422) } }
  }, async (request, reply) => reply.code(201).send(await service.create(request.body, callerOf(request))))

  // The one route that takes a file: its own scope, where the only body type is the file's (the rest of the API stays JSON-only, 415 otherwise).
  await fastify.register(async (scope) => {
    const files = scope.withTypeProvider<TypeBoxTypeProvider>()
    files.removeAllContentTypeParsers()
    files.addContentTypeParser(OCTET_STREAM, { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })
    files.post('/v1/policies/import', {
      config: write,
      bodyLimit: opts.importBodyLimit,
      schema: {
        tags,
        summary: 'Create a policy object from a GPO\'s Registry.pol (O11)',
        description: 'The body is the file (`application/octet-stream`), as GPMC writes it under `Machine\\Registry.pol`. ' +
          'The Remote Assistance values under `Software\\Policies\\Microsoft\\Windows NT\\Terminal Services` become the settings; ' +
          'every other entry is listed in `ignored`. ' +
          'A file that cannot be read is 422 `REGISTRY_POL_MALFORMED` with its byte `offset`, and nothing is created.',
        consumes: [OCTET_STREAM],
        querystring: PolicyImportQuery,
        body: Type.Unknown({ description: 'The Registry.pol file (PReg version 1), as bytes.' }),
        response: { 201: PolicyImportedSchema, ...errorResponses(409, 413, 415, 422) }
      }
    }, async (request, reply) => {
      // No body at all (nor content type) is an empty file: not a Registry.pol.
      const file = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      return reply.code(201).send(await service.importRegistryPol(file, request.query.name, callerOf(request)))
    })
  })

  fastify.get('/v1/policies/:id/registry.pol', {
    config: read,
    schema: {
      tags,
      summary: 'A policy object as the Registry.pol GPMC would write for it, `**del.` markers included',
      params: IdParamsSchema,
      produces: [OCTET_STREAM],
      response: { 200: Type.Unknown({ description: 'The Registry.pol file (PReg version 1).' }), ...errorResponses(404) }
    }
  }, async (request, reply) => {
    const { file } = await service.registryPol(request.params.id)
    return reply.type(OCTET_STREAM).header('content-disposition', 'attachment; filename="Registry.pol"').send(file)
  })

  fastify.patch('/v1/policies/:id', {
    config: write,
    schema: {
      tags,
      summary: 'Change a policy object (O11); applies to the next decision (O9)',
      params: IdParamsSchema,
      body: PolicyUpdateSchema,
      response: { 200: PolicySavedSchema, ...errorResponses(404, 409, 413, 422) }
    }
  }, async (request) => service.update(request.params.id, request.body, callerOf(request)))

  fastify.delete('/v1/policies/:id', {
    config: write,
    schema: { tags, summary: 'Delete a policy object and its links (O11)', params: IdParamsSchema, response: { 204: Type.Null(), ...errorResponses(404) } }
  }, async (request, reply) => {
    await service.delete(request.params.id, callerOf(request))
    return reply.code(204).send(null)
  })

  fastify.get('/v1/domains/:id/policy-links', {
    config: { ...read, ref: 'domain' },
    schema: {
      tags,
      summary: 'A domain\'s policy links, link order 1 first',
      params: RefParams.domain,
      response: { 200: PolicyLinksSchema, ...errorResponses(404) }
    }
  }, async (request) => service.domainLinks(request.params.id))

  fastify.put('/v1/domains/:id/policy-links', {
    config: { ...write, ref: 'domain' },
    schema: {
      tags,
      summary: 'Replace a domain\'s ordered policy links (O11)',
      params: RefParams.domain,
      body: PolicyLinksPutSchema,
      response: { 200: PolicyLinksSchema, ...errorResponses(404, 422) }
    }
  }, async (request) => service.setDomainLinks(request.params.id, request.body.policies, callerOf(request)))

  fastify.get('/v1/computers/:id/local-policy', {
    config: { ...read, ref: 'computer' },
    schema: { tags, summary: 'A computer\'s Local Computer Policy', params: RefParams.computer, response: { 200: LocalPolicySchema, ...errorResponses(404) } }
  }, async (request) => service.localPolicy(request.params.id))

  fastify.put('/v1/computers/:id/local-policy', {
    config: { ...write, ref: 'computer' },
    schema: {
      tags,
      summary: 'Replace a computer\'s Local Computer Policy (O11)',
      params: RefParams.computer,
      body: LocalPolicyPutSchema,
      response: { 200: LocalPolicySavedSchema, ...errorResponses(404, 422) }
    }
  }, async (request) => service.setLocalPolicy(request.params.id, request.body.settings, callerOf(request)))

  fastify.get('/v1/computers/:id/effective-policy', {
    config: { access: { scope: 'policies:read' as const }, ref: 'computer' },
    schema: {
      tags,
      summary: 'Resultant policy: every setting with its value and its source',
      params: RefParams.computer,
      response: { 200: EffectivePolicySchema, ...errorResponses(404) }
    }
  }, async (request) => service.effectivePolicy(request.params.id))
}
export default policies
