// A profiling build of the service for `npm run bench:ablation` (issue 20): the real app, with the request hooks
// named in BENCH_ABLATE (comma-separated, see HOOKS) left out, and one extra route, GET /v1/bench/noop, that
// authenticates like every /v1 route and then does nothing. Never a way to run the service: it exists only here.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import { app, serverOptions } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { HOOKS, type HookName } from './ablation-hooks.js'

/** Only the hooks that run per request (and `onRoute`, where a plugin adds per-route hooks); start and stop stay. */
const PER_REQUEST = new Set(['onRoute', 'onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization', 'onSend', 'onResponse'])

const ablate = (process.env['BENCH_ABLATE'] ?? '').split(',').filter(Boolean)
for (const name of ablate) if (!(name in HOOKS)) throw new Error(`BENCH_ABLATE: no hook "${name}" (known: ${Object.keys(HOOKS).join(', ')})`)
const left = ablate.map((name) => HOOKS[name as HookName])

const config = loadConfig()
const fastify = Fastify(serverOptions(config)).withTypeProvider<TypeBoxTypeProvider>()
// Every plugin's instance inherits from this one (fastify's encapsulation is prototypal), so this sees each addHook.
const addHook = fastify.addHook as (this: FastifyInstance, ...args: unknown[]) => FastifyInstance
Object.defineProperty(fastify, 'addHook', {
  value: function (this: FastifyInstance, name: string, ...rest: unknown[]) {
    // The stack's first line is the message, the second this function, the third whoever called addHook.
    const caller = (new Error().stack ?? '').split('\n')[2] ?? ''
    if (PER_REQUEST.has(name) && left.some((file) => file.test(caller))) return this
    return addHook.call(this, name, ...rest)
  }
})
await fastify.register(app, { config })
fastify.get('/v1/bench/noop', { config: { access: { scope: null, users: true } } }, async () => ({ ok: true }))
await fastify.ready()
const address = await fastify.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`LISTENING ${address}\n`)
process.once('SIGTERM', () => { fastify.close().then(() => process.exit(0), () => process.exit(1)) })
