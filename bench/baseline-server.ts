// The baseline: the most a fastify route can do on this machine. One POST route that validates a JSON
// body the size of an invitation request and returns a small JSON object, with the production log level.
import Fastify from 'fastify'

const app = Fastify({ logger: { level: process.env['LOG_LEVEL'] ?? 'info' } })
app.post('/baseline', {
  schema: {
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['computer'],
      properties: {
        computer: { type: 'string', minLength: 1, maxLength: 300 },
        lifetime: {
          type: 'object',
          additionalProperties: false,
          properties: { value: { type: 'integer', minimum: 1 }, unit: { type: 'string', enum: ['minutes', 'hours', 'days'] } }
        }
      }
    },
    response: { 200: { type: 'object', properties: { ok: { type: 'boolean' }, id: { type: 'string' } } } }
  }
}, async () => ({ ok: true, id: 'baseline' }))
const address = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`LISTENING ${address}\n`)
