import { Type, type Static } from '@sinclair/typebox'
import { WEBHOOK_EVENT_TYPES } from '../domain/webhooks.js'
import { Nullable, PagingQuery, StrictObject, Timestamp } from './common.js'

export const WebhookEventTypeSchema = Type.Union(WEBHOOK_EVENT_TYPES.map((t) => Type.Literal(t)), { title: 'WebhookEventType' })

const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: '`https`, or `http` only to a loopback address and only with RA_WEBHOOKS_ALLOW_HTTP=true. ' +
    'Addresses it resolves to are checked now and again at each send: link-local, metadata, unique-local, multicast and reserved ones are refused.',
  examples: ['https://helpdesk.contoso.com/hooks/remote-assistance']
})
const Events = Type.Array(WebhookEventTypeSchema, { minItems: 1, uniqueItems: true, description: 'The event types to receive.' })
const Description = Type.String({ minLength: 1, maxLength: 200, description: 'What it is for.' })

export const WebhookCreateSchema = StrictObject({
  url: Url,
  events: Events,
  description: Type.Optional(Description),
  enabled: Type.Optional(Type.Boolean({ default: true }))
}, { title: 'WebhookCreate' })

export const WebhookUpdateSchema = StrictObject({
  url: Type.Optional(Url),
  events: Type.Optional(Events),
  description: Type.Optional(Nullable(Description)),
  enabled: Type.Optional(Type.Boolean({ description: 'Enabling again clears the failure count; deliveries that waited are sent.' }))
}, { title: 'WebhookUpdate', minProperties: 1 })

export const WebhookSecretRotateSchema = StrictObject({
  overlapMinutes: Type.Optional(Type.Integer({
    minimum: 0,
    maximum: 10080,
    default: 1440,
    description: 'How long the old secret keeps signing beside the new one (every delivery carries both signatures meanwhile). 0: at once.'
  }))
}, { title: 'WebhookSecretRotate' })

export const WebhookSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  url: Type.String(),
  description: Nullable(Type.String()),
  events: Type.Array(WebhookEventTypeSchema),
  enabled: Type.Boolean(),
  owner: Type.String({ description: '`admin`, or `integration:<name>`: an integration sees and changes only its own.' }),
  consecutiveFailures: Type.Integer({ description: 'Deliveries that failed for good in a row; reset by a delivered one.' }),
  disabledReason: Nullable(Type.String({ description: 'Why the service disabled it, when it did.' })),
  previousSecretValidUntil: Nullable(Timestamp),
  createdAt: Timestamp,
  createdBy: Type.String(),
  updatedAt: Timestamp
}, { title: 'Webhook' })

export const WebhookCreatedSchema = Type.Object({
  webhook: WebhookSchema,
  secret: Type.String({ description: 'The signing secret (`whsec_…`). Shown only in this response: store it now.' })
}, { title: 'WebhookCreated' })

export const WebhookSecretSchema = Type.Object({
  webhook: WebhookSchema,
  secret: Type.String({ description: 'The new signing secret. Shown only in this response.' })
}, { title: 'WebhookSecret' })

export const WebhookAttemptSchema = Type.Object({
  attempt: Type.Integer({ minimum: 1 }),
  at: Timestamp,
  durationMs: Type.Integer(),
  statusCode: Nullable(Type.Integer({ description: 'The receiver\'s HTTP status; null when there was no answer.' })),
  error: Nullable(Type.String())
})

export const WebhookDeliverySchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  webhookId: Type.String({ description: 'The `webhook-id` header: the same on every attempt and retry of this event.' }),
  eventType: WebhookEventTypeSchema,
  state: Type.Union(['queued', 'sending', 'retrying', 'delivered', 'failed', 'cancelled'].map((s) => Type.Literal(s))),
  attempts: Type.Array(WebhookAttemptSchema),
  nextAttemptAt: Nullable(Timestamp),
  lastStatusCode: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  deliveredAt: Nullable(Timestamp),
  createdAt: Timestamp
}, { title: 'WebhookDelivery' })

export const WebhookDeliveryQuery = StrictObject({
  ...PagingQuery,
  state: Type.Optional(Type.Union(['queued', 'sending', 'retrying', 'delivered', 'failed', 'cancelled'].map((s) => Type.Literal(s))))
})

export const WebhookDeliveryParams = StrictObject({
  id: Type.String({ format: 'uuid' }),
  deliveryId: Type.String({ format: 'uuid' })
})

export const WebhookListQuery = StrictObject({ ...PagingQuery })

export type WebhookCreate = Static<typeof WebhookCreateSchema>
export type WebhookUpdate = Static<typeof WebhookUpdateSchema>
export type Webhook = Static<typeof WebhookSchema>
export type WebhookDelivery = Static<typeof WebhookDeliverySchema>
export type WebhookDeliveryQueryType = Static<typeof WebhookDeliveryQuery>
