import type { Db } from '../db/database.js'
import { parsePortException, parseProgramException } from '../domain/firewall.js'
import { findMembershipCycle } from '../domain/groups.js'
import { isValidComputerName, nameKey, splitQualifiedName } from '../domain/names.js'
import { AppError, notFound } from '../errors.js'
import type { AccountKind, AccountsRepository } from '../repositories/accounts-repository.js'
import type { AuditRepository } from '../repositories/audit-repository.js'
import { COMPUTER_ROLES, type ComputerRoleField, type ComputersRepository } from '../repositories/computers-repository.js'
import type { DomainsRepository } from '../repositories/domains-repository.js'
import type {
  Computer, ComputerCreate, ComputerUpdate, DirectoryImport, DirectoryImportResult, Domain, DomainCreate,
  DomainUpdate, Firewall, Group, GroupCreate, GroupUpdate, User, UserCreate, UserUpdate
} from '../schemas/directory.js'
import type { ActorContext } from './context.js'
import { Signals } from './signals.js'

export interface DirectoryRepositories {
  domains: DomainsRepository
  accounts: AccountsRepository
  computers: ComputersRepository
}

type Resource = 'domains' | 'users' | 'groups' | 'computers'
type Saved = { id: string, created: boolean }

/**
 * Changes to the directory. Each public method is one transaction that also
 * writes its audit event: either both land or neither does. The `save*`
 * methods are shared by the single-object routes and the import, so both
 * apply exactly the same rules.
 */
/** The directory objects a path may name. */
export type DirectoryKind = 'domain' | 'user' | 'group' | 'computer'

export class DirectoryService {
  constructor (
    private readonly db: Db,
    private readonly repos: DirectoryRepositories,
    private readonly audit: AuditRepository,
    private readonly signals: Signals
  ) {}

  // Domains ------------------------------------------------------------------------------
  /** The id of the object of this kind with this name (`DOMAIN\\name`, or a domain's own name), if there is one. */
  idOf (kind: DirectoryKind, name: string): string | undefined {
    switch (kind) {
      case 'domain': return this.repos.domains.findByName(name)?.id
      case 'computer': return this.repos.computers.findByName(name)?.id
      default: {
        const account = this.repos.accounts.findByName(name)
        return account?.kind === kind ? account.id : undefined
      }
    }
  }

  createDomain (input: DomainCreate, ctx: ActorContext): Domain {
    return this.change(ctx, 'domains', 'create', () => this.saveDomain(undefined, input, true), (id) => this.repos.domains.get(id)!, input)
  }

  updateDomain (id: string, input: DomainUpdate, ctx: ActorContext): Domain {
    if (!this.repos.domains.exists(id)) throw notFound('domain', id)
    return this.change(ctx, 'domains', 'update', () => this.saveDomain(id, input, true), (i) => this.repos.domains.get(i)!, input)
  }

  deleteDomain (id: string, ctx: ActorContext): void {
    this.remove(ctx, 'domains', id, () => {
      const domain = this.repos.domains.get(id)
      if (!domain) throw notFound('domain', id)
      if (this.repos.domains.contentCount(id) > 0) {
        throw new AppError('DOMAIN_NOT_EMPTY', `domain ${domain.name} still has users, groups or computers; delete or move them first`)
      }
      this.repos.domains.delete(id)
      return domain.name
    })
  }

  // Users --------------------------------------------------------------------------------
  createUser (input: UserCreate, ctx: ActorContext): User {
    return this.change(ctx, 'users', 'create', () => this.saveAccount('user', undefined, input), (id) => this.repos.accounts.getUser(id)!, input)
  }

  updateUser (id: string, input: UserUpdate, ctx: ActorContext): User {
    if (this.repos.accounts.kindOf(id) !== 'user') throw notFound('user', id)
    const user = this.change(ctx, 'users', 'update', () => this.saveAccount('user', id, input), (i) => this.repos.accounts.getUser(i)!, input)
    // A disabled account's live sessions end at once.
    if (input.enabled === false) this.signals.notify('account-disabled', id)
    return user
  }

  deleteUser (id: string, ctx: ActorContext): void {
    this.removeAccount('user', id, ctx)
  }

  // Groups -------------------------------------------------------------------------------
  createGroup (input: GroupCreate, ctx: ActorContext): Group {
    return this.change(ctx, 'groups', 'create', () => this.saveAccount('group', undefined, input), (id) => this.repos.accounts.getGroup(id)!, input)
  }

  updateGroup (id: string, input: GroupUpdate, ctx: ActorContext): Group {
    if (this.repos.accounts.kindOf(id) !== 'group') throw notFound('group', id)
    return this.change(ctx, 'groups', 'update', () => this.saveAccount('group', id, input), (i) => this.repos.accounts.getGroup(i)!, input)
  }

  deleteGroup (id: string, ctx: ActorContext): void {
    this.removeAccount('group', id, ctx)
  }

  // Computers ----------------------------------------------------------------------------
  createComputer (input: ComputerCreate, ctx: ActorContext): Computer {
    return this.change(ctx, 'computers', 'create', () => this.saveComputer(undefined, input), (id) => this.repos.computers.get(id)!, input)
  }

  updateComputer (id: string, input: ComputerUpdate, ctx: ActorContext): Computer {
    if (!this.repos.computers.get(id)) throw notFound('computer', id)
    const computer = this.change(ctx, 'computers', 'update', () => this.saveComputer(id, input), (i) => this.repos.computers.get(i)!, input)
    // Platform, Control Panel and users feed the resultant policy (S6, S1): re-decide live sessions.
    this.signals.notify('policy-changed')
    return computer
  }

  deleteComputer (id: string, ctx: ActorContext): void {
    this.remove(ctx, 'computers', id, () => {
      const computer = this.repos.computers.get(id)
      if (!computer) throw notFound('computer', id)
      if (this.repos.computers.inUse(id)) throw new AppError('IN_USE', `${computer.name} has invitations or sessions, which keep it for their history`)
      this.repos.computers.delete(id)
      return computer.name
    })
  }

  // Import -------------------------------------------------------------------------------
  /**
   * Loads a whole directory document in one transaction. Objects are matched by
   * name (create or update); references are resolved after every object of the
   * kinds they may point to exists, so their order in the document does not
   * matter. Any error rolls everything back and names its field in the document.
   */
  importDirectory (doc: DirectoryImport, ctx: ActorContext): DirectoryImportResult {
    const imported = this.db.transaction(() => {
      const result: DirectoryImportResult = {
        domains: { created: 0, updated: 0 }, users: { created: 0, updated: 0 }, groups: { created: 0, updated: 0 }, computers: { created: 0, updated: 0 }
      }
      const count = (kind: Resource, saved: Saved) => { result[kind][saved.created ? 'created' : 'updated']++ }
      const each = <T>(kind: Resource, items: T[] | undefined, fn: (item: T) => Saved | void, counted: boolean) => {
        (items ?? []).forEach((item, i) => {
          try {
            const saved = fn(item)
            if (saved && counted) count(kind, saved)
          } catch (err) {
            throw err instanceof AppError ? err.under(`${kind}[${i}]`) : err
          }
        })
      }
      rejectRepeatedNames(doc)
      const domainIds = new Map<DomainCreate, string>()
      const groupIds = new Map<GroupCreate, string>()
      each('domains', doc.domains, (d) => {
        const saved = this.saveDomain(this.repos.domains.findByName(d.name)?.id, { ...d, trusts: undefined }, false)
        domainIds.set(d, saved.id)
        return saved
      }, true)
      each('domains', doc.domains, (d) => { if (d.trusts) this.setTrusts(domainIds.get(d)!, d.trusts) }, false)
      each('users', doc.users, (u) => this.saveAccount('user', this.existingAccount(u.name, 'user'), u), true)
      each('groups', doc.groups, (g) => {
        const saved = this.saveAccount('group', this.existingAccount(g.name, 'group'), { ...g, members: undefined })
        groupIds.set(g, saved.id)
        return saved
      }, true)
      // Memberships the document gives are emptied first, so that the loop check sees the
      // document's nesting, not a mix of old and new that depends on the order of the groups.
      for (const g of doc.groups ?? []) if (g.members) this.repos.accounts.setMembers(groupIds.get(g)!, [])
      each('groups', doc.groups, (g) => { if (g.members) this.setGroupMembers(groupIds.get(g)!, g.members) }, false)
      each('computers', doc.computers, (c) => this.saveComputer(this.repos.computers.findByName(c.name)?.id, c), true)
      this.audit.record({ ...ctx, action: 'directory.import', target: 'directory', outcome: 'success', details: { ...result } })
      return result
    }).immediate()
    for (const u of doc.users ?? []) if (u.enabled === false) this.signals.notify('account-disabled', this.repos.accounts.findByName(u.name)!.id)
    this.signals.notify('policy-changed')
    return imported
  }

  // Shared rules -------------------------------------------------------------------------
  private change<T> (
    ctx: ActorContext,
    resource: Resource,
    verb: 'create' | 'update',
    save: () => Saved,
    read: (id: string) => T & { name: string },
    input: object
  ): T {
    return this.db.transaction(() => {
      const { id } = save()
      const saved = read(id)
      this.audit.record({
        ...ctx,
        action: `${resource.slice(0, -1)}.${verb}`,
        target: `${resource}/${id}`,
        outcome: 'success',
        details: { name: saved.name, fields: Object.keys(input) }
      })
      return saved
    }).immediate()
  }

  private remove (ctx: ActorContext, resource: Resource, id: string, del: () => string): void {
    this.db.transaction(() => {
      const name = del()
      this.audit.record({ ...ctx, action: `${resource.slice(0, -1)}.delete`, target: `${resource}/${id}`, outcome: 'success', details: { name } })
    }).immediate()
  }

  private removeAccount (kind: AccountKind, id: string, ctx: ActorContext): void {
    this.remove(ctx, kind === 'user' ? 'users' : 'groups', id, () => {
      const account = kind === 'user' ? this.repos.accounts.getUser(id) : this.repos.accounts.getGroup(id)
      if (!account) throw notFound(kind, id)
      if (this.repos.accounts.inUse(id)) {
        throw new AppError('IN_USE', `${account.name} has invitations or sessions, which keep it for their history; disable the account instead`)
      }
      this.repos.accounts.delete(id)
      return account.name
    })
  }

  private saveDomain (id: string | undefined, input: DomainUpdate, withTrusts: boolean): Saved {
    if (input.name !== undefined) {
      const other = this.repos.domains.findByName(input.name)
      if (other && other.id !== id) throw new AppError('DUPLICATE_NAME', `a domain named ${other.name} already exists`, { field: 'name' })
    }
    const created = id === undefined
    if (id === undefined) id = this.repos.domains.insert({ name: input.name!, dnsName: input.dnsName ?? null })
    else this.repos.domains.update(id, input)
    if (withTrusts && input.trusts !== undefined) this.setTrusts(id, input.trusts)
    return { id, created }
  }

  private setTrusts (id: string, trusts: string[]): void {
    const ids = trusts.map((name, i) => {
      const domain = this.repos.domains.findByName(name)
      if (!domain) throw new AppError('UNKNOWN_REFERENCE', `trusts[${i}]: there is no domain ${name}`, { field: `trusts[${i}]` })
      if (domain.id === id) throw new AppError('INVALID_REFERENCE', `trusts[${i}]: a domain always trusts itself; do not list it`, { field: `trusts[${i}]` })
      return domain.id
    })
    this.rejectRepeats(ids, trusts, 'trusts')
    this.repos.domains.setTrusts(id, ids)
  }

  private existingAccount (name: string, kind: AccountKind): string | undefined {
    const found = this.repos.accounts.findByName(name)
    // A name held by the other kind is left to saveAccount, which reports it as a duplicate.
    return found?.kind === kind ? found.id : undefined
  }

  private saveAccount (kind: AccountKind, id: string | undefined, input: UserUpdate & GroupUpdate): Saved {
    let domainId: string | undefined
    let name: string | undefined
    if (input.name !== undefined) {
      const parts = splitQualifiedName(input.name)
      const domain = this.repos.domains.findByName(parts.domain)
      if (!domain) throw new AppError('UNKNOWN_REFERENCE', `name: there is no domain ${parts.domain}`, { field: 'name' })
      const other = this.repos.accounts.findByName(input.name)
      if (other && other.id !== id) throw new AppError('DUPLICATE_NAME', `name: ${other.name} already exists as a ${other.kind}`, { field: 'name' })
      domainId = domain.id
      name = parts.name
    }
    const created = id === undefined
    if (id === undefined) id = this.repos.accounts.insert(kind, domainId!, name!, input)
    else this.repos.accounts.update(id, { ...input, domainId, name })
    if (kind === 'group' && input.members !== undefined) this.setGroupMembers(id, input.members)
    return { id, created }
  }

  private setGroupMembers (groupId: string, members: string[]): void {
    const resolved = this.resolveAccounts(members, 'members', ['user', 'group'])
    const memberGroups = resolved.filter((a) => a.kind === 'group').map((a) => a.id)
    const cycle = findMembershipCycle(groupId, memberGroups, (id) => this.repos.accounts.memberGroupsOf(id))
    if (cycle) {
      const names = cycle.map((id) => this.repos.accounts.getGroup(id)!.name)
      const index = resolved.findIndex((a) => a.id === cycle[1])
      throw new AppError(
        'GROUP_CYCLE',
        `members[${index}]: ${names[1]} would make the group contain itself (${names.join(' → ')})`,
        { field: `members[${index}]` }
      )
    }
    this.repos.accounts.setMembers(groupId, resolved.map((a) => a.id))
  }

  private saveComputer (id: string | undefined, input: ComputerUpdate): Saved {
    let domainId: string | undefined
    let name: string | undefined
    if (input.name !== undefined) {
      if (!isValidComputerName(input.name)) throw new AppError('VALIDATION_FAILED', 'name: a computer name cannot be all digits', { field: 'name' })
      const parts = splitQualifiedName(input.name)
      const domain = this.repos.domains.findByName(parts.domain)
      if (!domain) throw new AppError('UNKNOWN_REFERENCE', `name: there is no domain ${parts.domain}`, { field: 'name' })
      const other = this.repos.computers.findByName(input.name)
      if (other && other.id !== id) throw new AppError('DUPLICATE_NAME', `name: a computer named ${input.name} already exists`, { field: 'name' })
      domainId = domain.id
      name = parts.name
    }
    if (input.firewall !== undefined) checkFirewall(input.firewall)
    const created = id === undefined
    if (id === undefined) id = this.repos.computers.insert(domainId!, name!, input)
    else this.repos.computers.update(id, { ...input, domainId, name })
    for (const field of Object.keys(COMPUTER_ROLES) as ComputerRoleField[]) {
      const names = input[field]
      if (names === undefined) continue
      const accounts = this.resolveAccounts(names, field, field === 'users' ? ['user'] : ['user', 'group'])
      this.repos.computers.setMembers(id, field, accounts.map((a) => a.id))
    }
    return { id, created }
  }

  /** Resolves `DOMAIN\name` references; each must exist, be of an allowed kind, and appear once. */
  private resolveAccounts (names: string[], field: string, kinds: AccountKind[]): Array<{ id: string, kind: AccountKind }> {
    const resolved = names.map((name, i) => {
      const account = this.repos.accounts.findByName(name)
      if (!account) throw new AppError('UNKNOWN_REFERENCE', `${field}[${i}]: there is no user or group ${name}`, { field: `${field}[${i}]` })
      if (!kinds.includes(account.kind)) {
        throw new AppError(
          'INVALID_REFERENCE',
          `${field}[${i}]: ${account.name} is a ${account.kind}; only ${kinds.join(' or ')}s belong here`,
          { field: `${field}[${i}]` }
        )
      }
      return account
    })
    this.rejectRepeats(resolved.map((a) => a.id), names, field)
    return resolved
  }

  /** Lists compare names case-insensitively, so `CONTOSO\Bob` and `contoso\bob` are the same entry. */
  private rejectRepeats (ids: string[], names: string[], field: string): void {
    const seen = new Set<string>()
    ids.forEach((id, i) => {
      if (seen.has(id)) throw new AppError('INVALID_VALUE', `${field}[${i}]: ${names[i]} is listed twice`, { field: `${field}[${i}]` })
      seen.add(id)
    })
  }
}

/** An object named twice in one document (in any case) is an error, not a silent merge. */
function rejectRepeatedNames (doc: DirectoryImport): void {
  const check = (kind: Resource, items: Array<{ name: string }> | undefined, seen: Map<string, string>) => {
    (items ?? []).forEach((item, i) => {
      const key = nameKey(item.name)
      const first = seen.get(key)
      if (first !== undefined) {
        throw new AppError('DUPLICATE_NAME', `${kind}[${i}].name: ${item.name} is already given at ${first}`, { field: `${kind}[${i}].name` })
      }
      seen.set(key, `${kind}[${i}]`)
    })
  }
  check('domains', doc.domains, new Map())
  const accounts = new Map<string, string>() // users and groups share one name space
  check('users', doc.users, accounts)
  check('groups', doc.groups, accounts)
  check('computers', doc.computers, new Map())
}

function checkFirewall (firewall: Firewall): void {
  for (const [profile, settings] of Object.entries(firewall)) {
    settings?.programExceptions?.forEach((entry, i) => {
      if (!parseProgramException(entry)) {
        const field = `firewall.${profile}.programExceptions[${i}]`
        throw new AppError('INVALID_VALUE', `${field} is not a program exception of the form path:scope:Enabled|Disabled:name`, { field })
      }
    })
    settings?.portExceptions?.forEach((entry, i) => {
      if (!parsePortException(entry)) {
        const field = `firewall.${profile}.portExceptions[${i}]`
        throw new AppError('INVALID_VALUE', `${field} is not a port exception of the form port:TCP|UDP:scope:Enabled|Disabled:name`, { field })
      }
    })
  }
}
