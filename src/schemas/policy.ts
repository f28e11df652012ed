import { Type, type Static, type TSchema } from '@sinclair/typebox'
import type { IgnoredEntry } from '../domain/policy-registry.js'
import { AccountName, TicketTimeSchema } from './directory.js'
import { CheckSchema, follows, Nullable, PagingQuery, StrictObject, Timestamp } from './common.js'

const State = Type.Union([Type.Literal('not-configured'), Type.Literal('enabled'), Type.Literal('disabled')], {
  description: 'Three-state, as in Group Policy.'
})
const Permission = Type.Union([Type.Literal('control'), Type.Literal('view')])
const Message = Type.String({ maxLength: 4096 })

/** Settings as a client gives them: a setting left out is not configured; options only while enabled. */
export const PolicySettingsInputSchema = StrictObject({
  solicitedRemoteAssistance: Type.Optional(StrictObject({
    state: State,
    permitRemoteControl: Type.Optional(Type.Union([Type.Literal('control'), Type.Literal('view')], {
      description: '*Permit remote control of this computer* (`fAllowFullControl`): helpers may control, or only view. Default when enabled: control.'
    })),
    maxTicketTime: Type.Optional(TicketTimeSchema),
    emailMethod: Type.Optional(Type.Union([Type.Literal('mailto'), Type.Literal('smapi')], {
      description: '*Method for sending e-mail invitations* (`fUseMailto`). Default when enabled: mailto. Vista and later use SMAPI whatever this says.'
    }))
  }, { description: 'Configure Solicited Remote Assistance (`fAllowToGetHelp`). Maximum ticket time defaults to 1 hour when enabled.' })),
  offerRemoteAssistance: Type.Optional(StrictObject({
    state: State,
    permission: Type.Optional(Type.Union([Type.Literal('control'), Type.Literal('view')], {
      description: '`fAllowUnsolicitedFullControl`: view, or view and control (default when enabled).'
    })),
    helpers: Type.Optional(Type.Array(AccountName, {
      maxItems: 1000,
      uniqueItems: true,
      description: 'Helpers: `DOMAIN\\user` and `DOMAIN\\group` entries (`RAUnsolicit`). Entries unknown to the directory are saved with a warning (O10).'
    }))
  }, { description: 'Configure Offer Remote Assistance (`fAllowUnsolicited`).' })),
  sessionLogging: Type.Optional(StrictObject({ state: State }, { description: 'Turn on session logging (`LoggingEnabled`).' })),
  encryptedOnlyTickets: Type.Optional(StrictObject({ state: State }, { description: 'Allow only Vista or later connections (`CreateEncryptedOnlyTickets`).' })),
  customMessages: Type.Optional(StrictObject({
    state: State,
    viewMessage: Type.Optional(Message),
    shareControlMessage: Type.Optional(Message)
  }, { description: 'Customize warning messages (`UseCustomMessages`): `viewMessage` before connecting, `shareControlMessage` before sharing control.' }))
}, { description: 'Remote Assistance settings, as in RemoteAssistance.admx.' })

/** Settings as stored and returned: all five, complete. */
const Setting = (options: Record<string, TSchema> = {}) => Type.Object({
  state: State,
  ...Object.fromEntries(Object.entries(options).map(([k, v]) => [k, Type.Optional(v)]))
})
export const PolicySettingsSchema = Type.Object({
  solicitedRemoteAssistance: Setting({
    permitRemoteControl: Permission,
    maxTicketTime: TicketTimeSchema,
    emailMethod: Type.Union([Type.Literal('mailto'), Type.Literal('smapi')])
  }),
  offerRemoteAssistance: Setting({ permission: Permission, helpers: Type.Array(Type.String()) }),
  sessionLogging: Setting(),
  encryptedOnlyTickets: Setting(),
  customMessages: Setting({ viewMessage: Type.String(), shareControlMessage: Type.String() })
})

/** The service's extensions beside the ADMX settings (not in Registry.pol). */
export const PolicyExtensionsInputSchema = StrictObject({
  verificationCode: Type.Optional(StrictObject({ state: State }, {
    description: 'Service extension, not an ADMX setting: *Require comparing the verification code*. Enabled: the novice must type the ' +
      'session\'s 6-digit verification code, read out by the helper, to accept; three wrong codes end the session.'
  }))
}, { description: 'Service extensions beside the ADMX settings; each given replaces that extension, the others stay. Not part of a GPO\'s Registry.pol.' })
export const PolicyExtensionsSchema = Type.Object({ verificationCode: Type.Object({ state: State }) })

const PolicyName = Type.String({ minLength: 1, maxLength: 200, pattern: '^\\S(.*\\S)?$', description: 'Display name, unique (case-insensitively).' })

export const PolicyCreateSchema = StrictObject({
  name: PolicyName,
  description: Type.Optional(Nullable(Type.String({ maxLength: 2048 }))),
  settings: Type.Optional(PolicySettingsInputSchema),
  extensions: Type.Optional(PolicyExtensionsInputSchema)
})
export const PolicyUpdateSchema = StrictObject({
  name: Type.Optional(PolicyName),
  description: Type.Optional(Nullable(Type.String({ maxLength: 2048 }))),
  settings: Type.Optional(PolicySettingsInputSchema),
  extensions: Type.Optional(PolicyExtensionsInputSchema)
}, { minProperties: 1, description: 'Fields given replace; in `settings`, each setting given replaces that setting whole, the others stay.' })

const LinkOf = Type.Object({ domain: Type.String(), domainId: Type.String(), linkOrder: Type.Integer() })
export const PolicySchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  description: Nullable(Type.String()),
  settings: PolicySettingsSchema,
  extensions: PolicyExtensionsSchema,
  links: Type.Array(LinkOf, { description: 'Domains this policy is linked to (read-only; change with PUT /v1/domains/{id}/policy-links).' }),
  createdAt: Timestamp,
  updatedAt: Timestamp
}, { title: 'Policy' })

export const WarningSchema = Type.Object({ field: Type.String(), message: Type.String() })
export const PolicySavedSchema = Type.Object({
  policy: PolicySchema,
  warnings: Type.Array(WarningSchema, { description: 'Saved anyway: e.g. helpers the directory does not know (O10).' })
})

export const PolicyImportQuery = StrictObject({ name: PolicyName })
export const IgnoredEntrySchema = follows<IgnoredEntry>()(Type.Object({
  key: Type.String({ description: 'The registry key, as the file spells it.' }),
  value: Type.String({ description: 'The value name (or GPMC marker, `**del.…`), as the file spells it.' }),
  reason: Type.String({ description: 'Why the entry does not go into the policy.' })
}))
export const PolicyImportedSchema = Type.Object({
  policy: PolicySchema,
  warnings: Type.Array(WarningSchema, {
    description: 'Saved anyway: ADMX defaults that stood in for options the file lacks, helpers the directory does not know (O10).'
  }),
  ignored: Type.Array(IgnoredEntrySchema, {
    description: 'Entries of the file that are not Remote Assistance policy (other keys, other values under the key), ' +
      'or that do not apply (options of a setting that is not enabled, values of the wrong type or out of range), in file order.'
  })
})

export const PolicyLinksPutSchema = StrictObject({
  policies: Type.Array(Type.String({ format: 'uuid' }), {
    maxItems: 100,
    uniqueItems: true,
    description: 'Policy ids in link order: the first has link order 1, the highest precedence.'
  })
})
export const PolicyLinksSchema = Type.Object({
  domain: Type.String(),
  links: Type.Array(Type.Object({ policyId: Type.String(), policyName: Type.String(), linkOrder: Type.Integer() }))
})

export const LocalPolicyPutSchema = StrictObject({ settings: PolicySettingsInputSchema })
export const LocalPolicySchema = Type.Object({
  computer: Type.String(),
  settings: PolicySettingsSchema,
  updatedAt: Nullable(Timestamp)
})
export const LocalPolicySavedSchema = Type.Object({ localPolicy: LocalPolicySchema, warnings: Type.Array(WarningSchema) })

const Source = Type.Object({
  type: Type.Union(['domain-policy', 'local-policy', 'control-panel', 'platform-default', 'not-configured'].map((s) => Type.Literal(s))),
  policyId: Type.Optional(Type.String()),
  policyName: Type.Optional(Type.String()),
  domain: Type.Optional(Type.String()),
  linkOrder: Type.Optional(Type.Integer()),
  computer: Type.Optional(Type.String()),
  platform: Type.Optional(Nullable(Type.String()))
}, { description: 'Where the value came from: a policy object through a domain link, the Local Computer Policy, the Control Panel, or the platform default.' })
const Effective = (value: TSchema) => Type.Object({ value, source: Source, note: Type.Optional(Type.String()) })

export const EffectivePolicySchema = Type.Object({
  computer: Type.Object({ id: Type.String(), name: Type.String(), platform: Nullable(Type.String()) }),
  settings: Type.Object({
    solicitedRemoteAssistance: Effective(Type.Union([Type.Literal('enabled'), Type.Literal('disabled')])),
    permitRemoteControl: Effective(Nullable(Permission)),
    maxTicketTime: Effective(Nullable(TicketTimeSchema)),
    emailMethod: Effective(Nullable(Type.Union([Type.Literal('mailto'), Type.Literal('smapi')]))),
    offerRemoteAssistance: Effective(State),
    offerPermission: Effective(Nullable(Permission)),
    offerHelpers: Effective(Type.Array(Type.String())),
    sessionLogging: Effective(State),
    encryptedOnlyTickets: Effective(State),
    customMessages: Effective(Nullable(Type.Object({ viewMessage: Type.String(), shareControlMessage: Type.String() }))),
    verificationCode: Effective(Type.Union([Type.Literal('required'), Type.Literal('not-required')]))
  }),
  offer: Type.Object({ allowed: Type.Boolean(), checks: Type.Array(CheckSchema) }, {
    description: 'Whether Offer Remote Assistance is in force on this computer at all (O1, S7/O7); the per-expert checks are the offer-check\'s.'
  })
}, { title: 'EffectivePolicy' })

export const PolicyListQuery = StrictObject({ ...PagingQuery })

export type PolicySettingsInput = Static<typeof PolicySettingsInputSchema>
export type PolicyCreate = Static<typeof PolicyCreateSchema>
export type PolicyUpdate = Static<typeof PolicyUpdateSchema>
export type Policy = Static<typeof PolicySchema>
export type Warning = Static<typeof WarningSchema>
