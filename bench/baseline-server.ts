// The baseline: the most a fastify route can do on this machine. One POST route that validates a JSON
// body the size of an invitation request and returns a small JSON object, logging as the service does
// (src/logging.ts: its level, redaction, asynchronous destination and one line per request), so that
// a cheaper logger in the service is not counted as a gain against a dearer baseline.
import Fastify from 'fastify'
import { loggingOptions } from '../src/logging.js'

const app = Fastify(loggingOptions(process.env['LOG_LEVEL'] ?? 'info'))
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
