import { Type, type Static } from '@sinclair/typebox'
import { ACCOUNT_NAME_PATTERN, COMPUTER_NAME_PATTERN, DOMAIN_NAME_PATTERN } from '../domain/names.js'
import type { ControlPanel, Firewall, FirewallProfile } from '../domain/computer.js'
import { PLATFORM_IDS } from '../domain/platforms.js'
import type { TicketTime } from '../domain/policy.js'
import { follows, Nullable, PagingQuery, StrictObject, Timestamp } from './common.js'

const UUID = '[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}'
/** A name pattern without its anchors, to combine. */
const inner = (pattern: string) => pattern.slice(1, -1)

const DomainName = Type.String({
  pattern: DOMAIN_NAME_PATTERN,
  description: 'NetBIOS domain name: 1–15 letters, digits, `.`, `_` or `-`, starting with a letter or digit.',
  examples: ['CONTOSO']
})
export const AccountName = Type.String({
  pattern: ACCOUNT_NAME_PATTERN,
  description: 'A user or group as `DOMAIN\\name` (compared case-insensitively).',
  examples: ['CONTOSO\\alice']
})
const ComputerName = Type.String({
  pattern: COMPUTER_NAME_PATTERN,
  description: 'A computer as `DOMAIN\\NAME`: NetBIOS name of 1–15 letters, digits, `-` or `_`.',
  examples: ['CONTOSO\\PC-0042']
})
/** A computer as API callers may name it: its id or `DOMAIN\\NAME`, checked at the edge (400 naming the field). */
export const ComputerRef = Type.String({
  maxLength: 300,
  pattern: `^(?:${UUID}|${inner(COMPUTER_NAME_PATTERN)})$`,
  description: 'A computer: its id, or `DOMAIN\\NAME` (NetBIOS name of 1–15 letters, digits, `-` or `_`).',
  examples: ['CONTOSO\\PC-0042']
})
/** `:id` path parameters of directory objects: the id, or the name (`\\` percent-encoded as `%5C`). */
export const RefParams = {
  domain: StrictObject({
    id: Type.String({ maxLength: 300, pattern: `^(?:${UUID}|${inner(DOMAIN_NAME_PATTERN)})$`, description: 'The domain\'s id, or its name.' })
  }),
  account: StrictObject({
    id: Type.String({ maxLength: 300, pattern: `^(?:${UUID}|${inner(ACCOUNT_NAME_PATTERN)})$`, description: 'The id, or `DOMAIN\\name` (`%5C` in a URL).' })
  }),
  computer: StrictObject({ id: ComputerRef })
}
const DisplayName = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: '^[^\\x00-\\x1f\\x7f]+$',
  description: 'No control characters (it reaches e-mail headers).'
})
const Description = Type.String({ maxLength: 1024 })
const Email = Type.String({ format: 'email', maxLength: 254 })
const AccountList = (description: string) => Type.Array(AccountName, { maxItems: 5000, uniqueItems: true, description })
const Stamps = { createdAt: Timestamp, updatedAt: Timestamp }
const Id = Type.String({ format: 'uuid' })

// Domains --------------------------------------------------------------------------------
const domainFields = {
  dnsName: Nullable(Type.String({
    maxLength: 253,
    pattern: '^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$',
    description: 'DNS name of the domain (optional).'
  })),
  trusts: Type.Array(DomainName, {
    maxItems: 1000,
    uniqueItems: true,
    description: 'Domains this domain trusts: their accounts may be used on this domain\'s computers. Trust is directed.'
  })
}
export const DomainCreateSchema = StrictObject({ name: DomainName, ...partial(domainFields) }, { title: 'DomainCreate' })
export const DomainUpdateSchema = StrictObject({ name: Type.Optional(DomainName), ...partial(domainFields) }, { title: 'DomainUpdate', minProperties: 1 })
export const DomainSchema = Type.Object({
  id: Id,
  name: DomainName,
  ...domainFields,
  trustedBy: Type.Array(DomainName, { description: 'Domains that trust this one (read-only).' }),
  ...Stamps
}, { title: 'Domain' })

// Users ----------------------------------------------------------------------------------
const userFields = {
  displayName: Nullable(DisplayName),
  email: Nullable(Email),
  enabled: Type.Boolean({ description: 'A disabled account cannot authenticate or be given rights.' })
}
export const UserCreateSchema = StrictObject({ name: AccountName, ...partial(userFields) }, { title: 'UserCreate' })
export const UserUpdateSchema = StrictObject({ name: Type.Optional(AccountName), ...partial(userFields) }, { title: 'UserUpdate', minProperties: 1 })
export const UserSchema = Type.Object({
  id: Id,
  name: AccountName,
  domain: DomainName,
  ...userFields,
  memberOf: Type.Array(AccountName, { description: 'Groups the user is a direct member of (read-only).' }),
  ...Stamps
}, { title: 'User' })

// Groups ---------------------------------------------------------------------------------
const groupFields = {
  description: Nullable(Description),
  members: AccountList('Direct members: users or groups (nesting allowed, cycles refused).')
}
export const GroupCreateSchema = StrictObject({ name: AccountName, ...partial(groupFields) }, { title: 'GroupCreate' })
export const GroupUpdateSchema = StrictObject({ name: Type.Optional(AccountName), ...partial(groupFields) }, { title: 'GroupUpdate', minProperties: 1 })
export const GroupSchema = Type.Object({
  id: Id,
  name: AccountName,
  domain: DomainName,
  ...groupFields,
  memberOf: Type.Array(AccountName, { description: 'Groups this group is a direct member of (read-only).' }),
  ...Stamps
}, { title: 'Group' })

// Computers ------------------------------------------------------------------------------
const FirewallProfileSchema = follows<FirewallProfile>()(StrictObject({
  enabled: Type.Optional(Type.Boolean({ default: true, description: 'Whether Windows Firewall is on in this profile.' })),
  programExceptions: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), {
    maxItems: 256,
    description: 'Program exceptions as Group Policy writes them: `path:scope:Enabled|Disabled:name`.',
    examples: [['%WINDIR%\\PCHealth\\HelpCtr\\Binaries\\Helpctr.exe:*:Enabled:Remote Assistance – Windows Messenger and Voice']]
  })),
  portExceptions: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), {
    maxItems: 256,
    description: 'Port exceptions: `port:TCP|UDP:scope:Enabled|Disabled:name`.',
    examples: [['135:TCP:*:Enabled:Offer Remote Assistance']]
  })),
  allowRemoteDesktopException: Type.Optional(Type.Boolean({ description: 'The *Windows Firewall: Allow Remote Desktop Exception* setting.' }))
}))
export const FirewallSchema = follows<Firewall>()(StrictObject({
  domain: Type.Optional(FirewallProfileSchema),
  standard: Type.Optional(FirewallProfileSchema),
  private: Type.Optional(FirewallProfileSchema),
  public: Type.Optional(FirewallProfileSchema)
}, {
  description: 'Windows Firewall configuration per profile (XP SP2/2003: domain, standard; Vista and later: domain, private, public). ' +
    'A profile not described is unknown.'
}))
export type { ControlPanel, Firewall }

export const TicketTimeSchema = follows<TicketTime>()(StrictObject({
  value: Type.Integer({ minimum: 1, maximum: 99 }),
  unit: Type.Union([Type.Literal('minutes'), Type.Literal('hours'), Type.Literal('days')])
}))
export const ControlPanelSchema = follows<ControlPanel>()(StrictObject({
  remoteAssistanceEnabled: Type.Boolean({ description: '*Allow Remote Assistance invitations to be sent from this computer*.' }),
  allowRemoteControl: Type.Boolean({ description: '*Allow this computer to be controlled remotely*.' }),
  maxInvitationTime: TicketTimeSchema
}, { description: 'The computer\'s own Control Panel Remote Assistance settings; null when none are recorded (the platform defaults then apply).' }))

const computerFields = {
  platform: Nullable(Type.Union(PLATFORM_IDS.map((p) => Type.Literal(p)), { description: 'Windows platform; null when unknown.' })),
  dcomEnabled: Nullable(Type.Union([Type.Literal('Y'), Type.Literal('N')], { description: 'The `EnableDCOM` registry value; null when missing.' })),
  localAdministrators: AccountList('Domain users and groups in the computer\'s local Administrators group.'),
  offerRaHelpers: AccountList('Domain users and groups in the computer\'s local *Offer Remote Assistance Helpers* group (Vista and later).'),
  users: AccountList('Users who sit at this computer (they may ask for help from it).'),
  firewall: FirewallSchema,
  controlPanel: Nullable(ControlPanelSchema)
}
export const ComputerCreateSchema = StrictObject({ name: ComputerName, ...partial(computerFields) }, { title: 'ComputerCreate' })
export const ComputerUpdateSchema = StrictObject({ name: Type.Optional(ComputerName), ...partial(computerFields) }, {
  title: 'ComputerUpdate',
  minProperties: 1
})
export const ComputerSchema = Type.Object({ id: Id, name: ComputerName, domain: DomainName, ...computerFields, ...Stamps }, { title: 'Computer' })

// Import ---------------------------------------------------------------------------------
export const DirectoryImportSchema = StrictObject({
  domains: Type.Optional(Type.Array(DomainCreateSchema, { maxItems: 10000 })),
  users: Type.Optional(Type.Array(UserCreateSchema, { maxItems: 100000 })),
  groups: Type.Optional(Type.Array(GroupCreateSchema, { maxItems: 100000 })),
  computers: Type.Optional(Type.Array(ComputerCreateSchema, { maxItems: 100000 }))
}, {
  title: 'DirectoryImport',
  description: 'A whole directory. Objects are matched by name: new ones are created, existing ones get the fields given. ' +
    'References may point to objects defined anywhere in the same document. All or nothing.'
})
const ImportCounts = Type.Object({ created: Type.Integer(), updated: Type.Integer() })
export const DirectoryImportResultSchema = Type.Object({
  domains: ImportCounts,
  users: ImportCounts,
  groups: ImportCounts,
  computers: ImportCounts
}, { title: 'DirectoryImportResult' })

export const DomainListQuery = StrictObject({ ...PagingQuery })
export const DirectoryListQuery = StrictObject({
  ...PagingQuery,
  domain: Type.Optional(DomainName)
})

export type DomainCreate = Static<typeof DomainCreateSchema>
export type DomainUpdate = Static<typeof DomainUpdateSchema>
export type Domain = Static<typeof DomainSchema>
export type UserCreate = Static<typeof UserCreateSchema>
export type UserUpdate = Static<typeof UserUpdateSchema>
export type User = Static<typeof UserSchema>
export type GroupCreate = Static<typeof GroupCreateSchema>
export type GroupUpdate = Static<typeof GroupUpdateSchema>
export type Group = Static<typeof GroupSchema>
export type ComputerCreate = Static<typeof ComputerCreateSchema>
export type ComputerUpdate = Static<typeof ComputerUpdateSchema>
export type Computer = Static<typeof ComputerSchema>
export type DirectoryImport = Static<typeof DirectoryImportSchema>
export type DirectoryImportResult = Static<typeof DirectoryImportResultSchema>
export type DirectoryListQueryType = Static<typeof DirectoryListQuery>

function partial<T extends Record<string, import('@sinclair/typebox').TSchema>> (fields: T): { [K in keyof T]: import('@sinclair/typebox').TOptional<T[K]> } {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Type.Optional(v)])) as never
}
