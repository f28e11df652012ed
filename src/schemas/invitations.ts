import { Type, type Static } from '@sinclair/typebox'
import { AccountName, ComputerRef } from './directory.js'
import { CheckSchema, Nullable, PagingQuery, StrictObject, Timestamp } from './common.js'

const Mode = Type.Union([Type.Literal('view'), Type.Literal('control')], {
  description: '`view`: the expert may only view; `control`: view, and request control (granted only by the novice).'
})
const InvitationState = Type.Union(['open', 'redeemed', 'expired', 'revoked', 'locked'].map((s) => Type.Literal(s)))

export const DeliverySchema = StrictObject({
  recipients: Type.Array(Type.String({ format: 'email', maxLength: 254 }), {
    minItems: 1,
    maxItems: 10,
    description: '1–10 addresses; each gets its own message.'
  }),
  method: Type.Optional(Type.Union([Type.Literal('mailto'), Type.Literal('smapi')], {
    description: 'Default: the effective policy\'s method (S4); SMAPI on Vista and later, where Mailto does not exist.'
  })),
  message: Type.Optional(Type.String({ maxLength: 2000, description: 'A personal message, shown (escaped) in the e-mail.' }))
}, { description: 'Send the invitation by e-mail: Mailto (a link in the message) or SMAPI (the invitation file attached).' })

export const RecipientStatusSchema = Type.Object({
  address: Type.String(),
  state: Type.Union(['queued', 'sending', 'sent', 'retrying', 'failed', 'cancelled'].map((s) => Type.Literal(s))),
  attempts: Type.Integer(),
  messageId: Type.String({ description: 'Kept across attempts.' }),
  nextAttemptAt: Nullable(Timestamp),
  lastError: Nullable(Type.String()),
  serverReply: Nullable(Type.String({ description: 'The mail server\'s reply when sent (or where the .eml file was written).' })),
  location: Nullable(Type.String({ description: 'The .eml file, when the service runs without a mail server.' })),
  sentAt: Nullable(Timestamp)
})
export const DeliveryStatusSchema = Type.Object({
  id: Type.String(),
  invitationId: Type.String(),
  method: Type.Union([Type.Literal('mailto'), Type.Literal('smapi')]),
  message: Nullable(Type.String()),
  createdAt: Timestamp,
  createdBy: Type.String(),
  recipients: Type.Array(RecipientStatusSchema)
}, { title: 'Delivery' })
export const DeliveryCreatedSchema = Type.Object({
  delivery: DeliveryStatusSchema,
  mailtoUri: Type.Optional(Type.String({
    description: 'Mailto deliveries: an RFC 6068 URI the novice\'s own mail program can open. Carries the ticket: shown only here.'
  }))
})

/** The helpdesk's reference (an incident number): 1–128 printable characters, no leading or trailing space. */
export const ExternalRef = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[\\x21-\\x7e](?:[\\x20-\\x7e]*[\\x21-\\x7e])?$',
  description: 'The helpdesk\'s own reference for this help (its incident number, e.g. INC0012345): shown on the invitation, its session and its audit events.',
  examples: ['INC0012345']
})
const Base64ish = (description: string) => Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9+/=_-]+$', description })
export const ConnectionSchema = StrictObject({
  addresses: Type.Array(Type.String({ minLength: 3, maxLength: 300 }), {
    minItems: 1,
    maxItems: 16,
    uniqueItems: true,
    description: 'Where the novice computer listens, as `host:port`: IPv4, IPv6 in brackets (`[fe80::1%3]:49228`), or a host name.',
    examples: [['192.168.1.65:3389', 'jeff_xp:3389']]
  }),
  sessionId: Base64ish('The Remote Assistance session id the computer advertises (RASessionID).'),
  keyHash: Type.Optional(Base64ish('Vista and later: the hash of the key it advertises (`KH`); required for those platforms.'))
}, { description: 'What the novice computer\'s agent reports about how it can be reached: with it, the invitation file is a real one ([MS-RAI]).' })
export const InvitationCreateSchema = StrictObject({
  computer: ComputerRef,
  novice: Type.Optional(AccountName),
  lifetime: Type.Optional(StrictObject({
    value: Type.Integer({ minimum: 1, maximum: 142560 }),
    unit: Type.Union([Type.Literal('minutes'), Type.Literal('hours'), Type.Literal('days')])
  }, { description: 'How long the invitation stays open. Default, and most: the effective maximum ticket time (S3).' })),
  password: Type.Optional(Type.String({
    minLength: 6,
    maxLength: 256,
    description: 'The expert must give it to redeem. Stored only as a scrypt hash; 5 wrong tries lock the invitation.'
  })),
  delivery: Type.Optional(DeliverySchema),
  connection: Type.Optional(ConnectionSchema),
  externalRef: Type.Optional(ExternalRef),
  shortCode: Type.Optional(Type.Boolean({
    description: 'Also make a short code to dictate (12 characters, `XXXX-XXXX-XXXX`), returned once in `shortCode`: valid for 30 minutes ' +
      'at most (never longer than the invitation), redeemed with `POST /v1/redemptions { code }`, once.'
  })),
  helper: Type.Optional(Type.String({
    ...AccountName,
    description: 'Binds the invitation to a helper: a directory user or group (`DOMAIN\\name`). Only that user, or a member (nested) ' +
      'of that group, may redeem it (BOUND_HELPER); anyone else is refused 403 NOT_BOUND_HELPER, audited.',
    examples: ['CONTOSO\\bob', 'CONTOSO\\Helpdesk']
  }))
}, { description: 'A user asks for help from a computer they sit at; an integration (or the administrator) names the novice in `novice`.' })

export const InvitationSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  computer: Type.String(),
  computerId: Type.String(),
  novice: Type.String(),
  state: InvitationState,
  mode: Mode,
  lifetimeMinutes: Type.Integer(),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  passwordProtected: Type.Boolean(),
  externalRef: Nullable(Type.String({ description: 'The helpdesk\'s reference, as given at creation.' })),
  helper: Nullable(Type.String({
    description: 'The user or group the invitation is bound to (only they may redeem it), as named; null: anyone the policy lets.'
  })),
  shortCodeExpiresAt: Nullable(Timestamp),
  connection: Nullable(Type.Object({
    addresses: Type.Array(Type.String()),
    sessionId: Type.String(),
    keyHash: Nullable(Type.String())
  }, { description: 'How the novice computer can be reached, as its agent reported it; null without.' })),
  failedPasswordAttempts: Type.Integer(),
  redeemedAt: Nullable(Timestamp),
  redeemedBy: Nullable(Type.String()),
  sessionId: Nullable(Type.String()),
  revokedAt: Nullable(Timestamp),
  lockedAt: Nullable(Timestamp)
}, { title: 'Invitation' })

export const InvitationCreatedSchema = Type.Object({
  invitation: InvitationSchema,
  ticket: Type.String({ description: 'The signed ticket (JWS): give it to the expert. Shown only in this response.' }),
  shortCode: Type.Optional(Type.Object({
    code: Type.String({ description: 'The code to read to the expert, `XXXX-XXXX-XXXX`. Shown only in this response.' }),
    expiresAt: Timestamp
  })),
  delivery: Type.Optional(DeliveryCreatedSchema),
  checks: Type.Array(CheckSchema, { description: 'The policy decision that allowed it (S1–S6).' })
}, { title: 'InvitationCreated' })

export const InvitationListQuery = StrictObject({
  ...PagingQuery,
  computer: Type.Optional(Type.String({ format: 'uuid' })),
  novice: Type.Optional(AccountName),
  state: Type.Optional(InvitationState),
  externalRef: Type.Optional(ExternalRef)
})

const Party = Type.Object({ name: Type.String({ description: '`DOMAIN\\name`, from the directory.' }), displayName: Nullable(Type.String()) })
export const SessionSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  origin: Type.Union([Type.Literal('invitation'), Type.Literal('offer')], {
    description: '`invitation`: the novice asked for help; `offer`: the expert offered it unasked.'
  }),
  invitationId: Nullable(Type.String()),
  externalRef: Nullable(Type.String({ description: 'The helpdesk\'s reference: its invitation\'s, or the offer\'s.' })),
  boundHelper: Nullable(Type.String({
    description: 'The helper the novice\'s invitation named (a user, or a group the expert belongs to): the expert is the one they named. Null: not bound.'
  })),
  computer: Type.String(),
  novice: Party,
  expert: Party,
  state: Type.Union(['awaiting-novice', 'active', 'control-requested', 'in-control', 'ended', 'declined', 'expired'].map((s) => Type.Literal(s)), {
    description: 'Starts as `awaiting-novice` (C1): nothing is visible before the novice accepts.'
  }),
  mode: Type.Union([Type.Literal('none'), Type.Literal('view'), Type.Literal('control')], { description: 'What the expert may do right now.' }),
  permittedMode: Mode,
  consent: Type.Object({
    expert: Party,
    solicited: Type.Boolean({ description: 'True when the session came from the novice\'s own invitation; false for an unsolicited offer.' }),
    messageBeforeConnecting: Nullable(Type.String({ description: 'The policy\'s custom message to show before accepting.' })),
    messageBeforeSharingControl: Nullable(Type.String({ description: 'The policy\'s custom message to show before granting control.' })),
    acceptBy: Nullable(Timestamp),
    expertFromOtherDomain: Type.Boolean({
      description: 'The expert belongs to another (trusted) domain than the novice: the prompt says so plainly.'
    }),
    firstTimeHelper: Type.Boolean({
      description: 'This expert had never helped this novice (no session the novice accepted) when the session was opened: the prompt says so plainly.'
    })
  }, { description: 'What the novice\'s agent shows before the novice accepts or grants.' }),
  verification: Type.Object({
    code: Nullable(Type.String({
      pattern: '^[0-9]{6}$',
      description: 'The session\'s 6-digit verification code, the same in both parties\' views (shown to them only; null for others). ' +
        'The expert reads it out and the novice types it to accept (compare the code).'
    })),
    required: Type.Boolean({ description: 'Policy (the service extension `verificationCode`) requires the code to accept.' }),
    mismatches: Type.Integer({ minimum: 0, description: 'Wrong codes typed so far; the third ends the session (security.code-mismatch).' })
  }),
  control: Nullable(Type.Object({
    until: Timestamp,
    moreTimeRequestedAt: Nullable(Timestamp)
  }, { description: 'While in control: when control drops back to view, unless the novice renews it; and whether the expert asked for more time.' })),
  controlRequest: Nullable(Type.Object({ id: Type.String(), state: Type.String(), requestedAt: Timestamp, answerBy: Timestamp })),
  securityEvents: Type.Array(Type.Object({
    kind: Type.String({ description: 'E.g. `ticket-reused`: the redeemed ticket was presented again.' }),
    occurredAt: Timestamp,
    lastOccurredAt: Timestamp,
    count: Type.Integer({ minimum: 1, description: 'How often it happened: repeats (same kind, same details) are one entry.' }),
    details: Nullable(Type.Record(Type.String(), Type.Unknown()))
  }), { description: 'The 20 most recent distinct security events, repeats collapsed; every occurrence is in `GET /v1/sessions/{id}/history`.' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  acceptedAt: Nullable(Timestamp),
  endedAt: Nullable(Timestamp),
  endReason: Nullable(Type.String())
}, { title: 'Session' })

export const SessionListQuery = StrictObject({
  ...PagingQuery,
  state: Type.Optional(Type.Union(['awaiting-novice', 'active', 'control-requested', 'in-control', 'ended', 'declined', 'expired']
    .map((s) => Type.Literal(s)))),
  externalRef: Type.Optional(ExternalRef)
})

export const RedemptionSchema = StrictObject({
  ticket: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  code: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A short code instead of the ticket (case and hyphens do not matter).' })),
  password: Type.Optional(Type.String({ minLength: 1, maxLength: 256 }))
})

/** The ticket or the short code, exactly one, as redemption takes them (the password is not needed to look). */
export const TicketPreviewRequestSchema = StrictObject({ ticket: RedemptionSchema.properties.ticket, code: RedemptionSchema.properties.code })
export const InvitationPreviewSchema = Type.Object({
  invitationId: Type.String({ format: 'uuid' }),
  novice: Party,
  computer: Type.String(),
  mode: Mode,
  expiresAt: Timestamp,
  passwordProtected: Type.Boolean({ description: 'Whether redeeming needs the invitation\'s password.' }),
  externalRef: Nullable(Type.String({ description: 'The helpdesk\'s reference, when it gave one.' }))
}, { title: 'InvitationPreview' })

const CheckRef = Type.Object({ rule: Type.String(), passed: Type.Boolean(), detail: Type.String(), remedy: Type.Optional(Type.String()) })
export const AskOptionSchema = Type.Object({
  computerId: Type.String({ format: 'uuid' }),
  computer: Type.String(),
  allowed: Type.Boolean({ description: 'Whether the policy lets the caller ask for help from this computer now (S1, S5, S6).' }),
  maxLifetimeMinutes: Nullable(Type.Integer({ description: 'S3: the longest an invitation may stay open (the default lifetime too).' })),
  maxLifetimeSource: Nullable(Type.String({ description: 'Where the maximum ticket time comes from (a policy object, the Control Panel…).' })),
  mode: Nullable(Mode),
  emailMethod: Nullable(Type.Union([Type.Literal('mailto'), Type.Literal('smapi')], { description: 'S4: how e-mail invitations are sent.' })),
  checks: Type.Array(CheckRef)
}, { title: 'AskOption' })
export const MeSchema = Type.Object({
  kind: Type.Union([Type.Literal('admin'), Type.Literal('user'), Type.Literal('integration')]),
  name: Type.String({ description: '`DOMAIN\\name` for a user; `admin`; `integration:<name>`.' }),
  displayName: Nullable(Type.String()),
  computers: Type.Array(AskOptionSchema, { description: 'For a user: the computers they sit at, and whether and how they may ask for help from each.' })
}, { title: 'Me' })

export type AskOption = Static<typeof AskOptionSchema>
export type Me = Static<typeof MeSchema>
export type InvitationPreview = Static<typeof InvitationPreviewSchema>
export type InvitationCreate = Static<typeof InvitationCreateSchema>
export type DeliveryInput = Static<typeof DeliverySchema>
export type DeliveryStatus = Static<typeof DeliveryStatusSchema>
export type Invitation = Static<typeof InvitationSchema>
export type InvitationListQueryType = Static<typeof InvitationListQuery>
export type Session = Static<typeof SessionSchema>
