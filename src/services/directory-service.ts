import { parsePortException, parseProgramException } from '../domain/firewall.js'
import { findMembershipCycle } from '../domain/groups.js'
import { nowIso } from '../db/database.js'
import { isValidComputerName, nameKey, splitQualifiedName } from '../domain/names.js'
import { AppError, notFound } from '../errors.js'
import type { AccountKind } from '../repositories/accounts-repository.js'
import { COMPUTER_ROLES, type ComputerRoleField } from '../repositories/computers-repository.js'
import type { Store, Unit } from '../repositories/index.js'
import type {
  Computer, ComputerCreate, ComputerUpdate, DirectoryImport, DirectoryImportResult, Domain, DomainCreate,
  DomainUpdate, Firewall, Group, GroupCreate, GroupUpdate, User, UserCreate, UserUpdate
} from '../schemas/directory.js'
import type { ActorContext } from './context.js'
import type { Signals } from './signals.js'

type Resource = 'domains' | 'users' | 'groups' | 'computers'
type Saved = { id: string, created: boolean }

/**
 * Changes to the directory. Each public method is one unit of work that also
 * writes its audit event: either both land or neither does. The `save*`
 * methods are shared by the single-object routes and the import, so both
 * apply exactly the same rules.
 */
/** The directory objects a path may name. */
export type DirectoryKind = 'domain' | 'user' | 'group' | 'computer'

export class DirectoryService {
  constructor (
    private readonly store: Store,
    private readonly signals: Signals
  ) {}

  // Domains ------------------------------------------------------------------------------
  /** The id of the object of this kind with this name (`DOMAIN\\name`, or a domain's own name), if there is one. */
  async idOf (kind: DirectoryKind, name: string): Promise<string | undefined> {
    const repos = this.store.repos
    switch (kind) {
      case 'domain': return (await repos.domains.findByName(name))?.id
      case 'computer': return (await repos.computers.findByName(name))?.id
      default: {
        const account = await repos.accounts.findByName(name)
        return account?.kind === kind ? account.id : undefined
      }
    }
  }

  createDomain (input: DomainCreate, ctx: ActorContext): Promise<Domain> {
    return this.change(ctx, 'domains', 'create', (u) => this.saveDomain(u, undefined, input, true), async (u, id) => (await u.domains.get(id))!, input)
  }

  updateDomain (id: string, input: DomainUpdate, ctx: ActorContext): Promise<Domain> {
    return this.change(ctx, 'domains', 'update', async (u) => {
      if (!await u.domains.exists(id)) throw notFound('domain', id)
      return this.saveDomain(u, id, input, true)
    }, async (u, i) => (await u.domains.get(i))!, input)
  }

  async deleteDomain (id: string, ctx: ActorContext): Promise<void> {
    await this.remove(ctx, 'domains', id, async (u) => {
      const domain = await u.domains.get(id)
      if (!domain) throw notFound('domain', id)
      if (await u.domains.contentCount(id) > 0) {
        throw new AppError('DOMAIN_NOT_EMPTY', `domain ${domain.name} still has users, groups or computers; delete or move them first`)
      }
      await u.domains.delete(id)
      return domain.name
    })
  }

  // Users --------------------------------------------------------------------------------
  createUser (input: UserCreate, ctx: ActorContext): Promise<User> {
    return this.change(ctx, 'users', 'create', (u) => this.saveAccount(u, 'user', undefined, input), async (u, id) => (await u.accounts.getUser(id))!, input)
  }

  updateUser (id: string, input: UserUpdate, ctx: ActorContext): Promise<User> {
    return this.change(ctx, 'users', 'update', async (u) => {
      if (await u.accounts.kindOf(id) !== 'user') throw notFound('user', id)
      const saved = await this.saveAccount(u, 'user', id, input)
      // A disabled account's live sessions end at once.
      if (input.enabled === false) {
        // …and their browser sessions are revoked, so enabling the account again does not revive them.
        await u.signIn.revokeSessionsOf(id, nowIso())
        this.signals.notify(u, 'account-disabled', id)
      }
      return saved
    }, async (u, i) => (await u.accounts.getUser(i))!, input)
  }

  async deleteUser (id: string, ctx: ActorContext): Promise<void> {
    await this.removeAccount('user', id, ctx)
  }

  // Groups -------------------------------------------------------------------------------
  createGroup (input: GroupCreate, ctx: ActorContext): Promise<Group> {
    return this.change(ctx, 'groups', 'create', (u) => this.saveAccount(u, 'group', undefined, input), async (u, id) => (await u.accounts.getGroup(id))!, input)
  }

  updateGroup (id: string, input: GroupUpdate, ctx: ActorContext): Promise<Group> {
    return this.change(ctx, 'groups', 'update', async (u) => {
      if (await u.accounts.kindOf(id) !== 'group') throw notFound('group', id)
      return this.saveAccount(u, 'group', id, input)
    }, async (u, i) => (await u.accounts.getGroup(i))!, input)
  }

  async deleteGroup (id: string, ctx: ActorContext): Promise<void> {
    await this.removeAccount('group', id, ctx)
  }

  // Computers ----------------------------------------------------------------------------
  createComputer (input: ComputerCreate, ctx: ActorContext): Promise<Computer> {
    return this.change(ctx, 'computers', 'create', (u) => this.saveComputer(u, undefined, input), async (u, id) => (await u.computers.get(id))!, input)
  }

  updateComputer (id: string, input: ComputerUpdate, ctx: ActorContext): Promise<Computer> {
    return this.change(ctx, 'computers', 'update', async (u) => {
      if (!await u.computers.get(id)) throw notFound('computer', id)
      const saved = await this.saveComputer(u, id, input)
      // Platform, Control Panel and users feed the resultant policy (S6, S1): re-decide live sessions.
      this.signals.notify(u, 'policy-changed')
      return saved
    }, async (u, i) => (await u.computers.get(i))!, input)
  }

  async deleteComputer (id: string, ctx: ActorContext): Promise<void> {
    await this.remove(ctx, 'computers', id, async (u) => {
      const computer = await u.computers.get(id)
      if (!computer) throw notFound('computer', id)
      if (await u.computers.inUse(id)) throw new AppError('IN_USE', `${computer.name} has invitations or sessions, which keep it for their history`)
      await u.computers.delete(id)
      return computer.name
    })
  }

  // Import -------------------------------------------------------------------------------
  /**
   * Loads a whole directory document in one unit of work. Objects are matched by
   * name (create or update); references are resolved after every object of the
   * kinds they may point to exists, so their order in the document does not
   * matter. Any error rolls everything back and names its field in the document.
   */
  importDirectory (doc: DirectoryImport, ctx: ActorContext): Promise<DirectoryImportResult> {
    return this.store.work(async (u) => {
      const result: DirectoryImportResult = {
        domains: { created: 0, updated: 0 }, users: { created: 0, updated: 0 }, groups: { created: 0, updated: 0 }, computers: { created: 0, updated: 0 }
      }
      const count = (kind: Resource, saved: Saved) => { result[kind][saved.created ? 'created' : 'updated']++ }
      const each = async <T>(kind: Resource, items: T[] | undefined, fn: (item: T) => Promise<Saved | void>, counted: boolean) => {
        for (const [i, item] of (items ?? []).entries()) {
          try {
            const saved = await fn(item)
            if (saved && counted) count(kind, saved)
          } catch (err) {
            throw err instanceof AppError ? err.under(`${kind}[${i}]`) : err
          }
        }
      }
      rejectRepeatedNames(doc)
      const domainIds = new Map<DomainCreate, string>()
      const groupIds = new Map<GroupCreate, string>()
      await each('domains', doc.domains, async (d) => {
        const saved = await this.saveDomain(u, (await u.domains.findByName(d.name))?.id, { ...d, trusts: undefined }, false)
        domainIds.set(d, saved.id)
        return saved
      }, true)
      await each('domains', doc.domains, async (d) => { if (d.trusts) await this.setTrusts(u, domainIds.get(d)!, d.trusts) }, false)
      await each('users', doc.users, async (user) => this.saveAccount(u, 'user', await this.existingAccount(u, user.name, 'user'), user), true)
      await each('groups', doc.groups, async (g) => {
        const saved = await this.saveAccount(u, 'group', await this.existingAccount(u, g.name, 'group'), { ...g, members: undefined })
        groupIds.set(g, saved.id)
        return saved
      }, true)
      // Memberships the document gives are emptied first, so that the loop check sees the
      // document's nesting, not a mix of old and new that depends on the order of the groups.
      for (const g of doc.groups ?? []) if (g.members) await u.accounts.setMembers(groupIds.get(g)!, [])
      await each('groups', doc.groups, async (g) => { if (g.members) await this.setGroupMembers(u, groupIds.get(g)!, g.members) }, false)
      await each('computers', doc.computers, async (c) => this.saveComputer(u, (await u.computers.findByName(c.name))?.id, c), true)
      await u.audit.record({ ...ctx, action: 'directory.import', target: 'directory', outcome: 'success', details: { ...result } })
      for (const user of doc.users ?? []) {
        if (user.enabled === false) {
          const id = (await u.accounts.findByName(user.name))!.id
          await u.signIn.revokeSessionsOf(id, nowIso())
          this.signals.notify(u, 'account-disabled', id)
        }
      }
      this.signals.notify(u, 'policy-changed')
      return result
    })
  }

  // Shared rules -------------------------------------------------------------------------
  private change<T> (
    ctx: ActorContext,
    resource: Resource,
    verb: 'create' | 'update',
    save: (u: Unit) => Promise<Saved>,
    read: (u: Unit, id: string) => Promise<T & { name: string }>,
    input: object
  ): Promise<T> {
    return this.store.work(async (u) => {
      const { id } = await save(u)
      const saved = await read(u, id)
      await u.audit.record({
        ...ctx,
        action: `${resource.slice(0, -1)}.${verb}`,
        target: `${resource}/${id}`,
        outcome: 'success',
        details: { name: saved.name, fields: Object.keys(input) }
      })
      return saved
    })
  }

  private async remove (ctx: ActorContext, resource: Resource, id: string, del: (u: Unit) => Promise<string>): Promise<void> {
    await this.store.work(async (u) => {
      const name = await del(u)
      await u.audit.record({ ...ctx, action: `${resource.slice(0, -1)}.delete`, target: `${resource}/${id}`, outcome: 'success', details: { name } })
    })
  }

  private async removeAccount (kind: AccountKind, id: string, ctx: ActorContext): Promise<void> {
    await this.remove(ctx, kind === 'user' ? 'users' : 'groups', id, async (u) => {
      const account = kind === 'user' ? await u.accounts.getUser(id) : await u.accounts.getGroup(id)
      if (!account) throw notFound(kind, id)
      if (await u.accounts.inUse(id)) {
        throw new AppError('IN_USE', `${account.name} has invitations or sessions, which keep it for their history; disable the account instead`)
      }
      await u.accounts.delete(id)
      return account.name
    })
  }

  private async saveDomain (u: Unit, id: string | undefined, input: DomainUpdate, withTrusts: boolean): Promise<Saved> {
    if (input.name !== undefined) {
      const other = await u.domains.findByName(input.name)
      if (other && other.id !== id) throw new AppError('DUPLICATE_NAME', `a domain named ${other.name} already exists`, { field: 'name' })
    }
    const created = id === undefined
    if (id === undefined) id = await u.domains.insert({ name: input.name!, dnsName: input.dnsName ?? null })
    else await u.domains.update(id, input)
    if (withTrusts && input.trusts !== undefined) await this.setTrusts(u, id, input.trusts)
    return { id, created }
  }

  private async setTrusts (u: Unit, id: string, trusts: string[]): Promise<void> {
    const ids: string[] = []
    for (const [i, name] of trusts.entries()) {
      const domain = await u.domains.findByName(name)
      if (!domain) throw new AppError('UNKNOWN_REFERENCE', `trusts[${i}]: there is no domain ${name}`, { field: `trusts[${i}]` })
      if (domain.id === id) throw new AppError('INVALID_REFERENCE', `trusts[${i}]: a domain always trusts itself; do not list it`, { field: `trusts[${i}]` })
      ids.push(domain.id)
    }
    this.rejectRepeats(ids, trusts, 'trusts')
    await u.domains.setTrusts(id, ids)
  }

  private async existingAccount (u: Unit, name: string, kind: AccountKind): Promise<string | undefined> {
    const found = await u.accounts.findByName(name)
    // A name held by the other kind is left to saveAccount, which reports it as a duplicate.
    return found?.kind === kind ? found.id : undefined
  }

  private async saveAccount (u: Unit, kind: AccountKind, id: string | undefined, input: UserUpdate & GroupUpdate): Promise<Saved> {
    let domainId: string | undefined
    let name: string | undefined
    if (input.name !== undefined) {
      const parts = splitQualifiedName(input.name)
      const domain = await u.domains.findByName(parts.domain)
      if (!domain) throw new AppError('UNKNOWN_REFERENCE', `name: there is no domain ${parts.domain}`, { field: 'name' })
      const other = await u.accounts.findByName(input.name)
      if (other && other.id !== id) throw new AppError('DUPLICATE_NAME', `name: ${other.name} already exists as a ${other.kind}`, { field: 'name' })
      domainId = domain.id
      name = parts.name
    }
    const created = id === undefined
    if (id === undefined) id = await u.accounts.insert(kind, domainId!, name!, input)
    else await u.accounts.update(id, { ...input, domainId, name })
    if (kind === 'group' && input.members !== undefined) await this.setGroupMembers(u, id, input.members)
    return { id, created }
  }

  private async setGroupMembers (u: Unit, groupId: string, members: string[]): Promise<void> {
    const resolved = await this.resolveAccounts(u, members, 'members', ['user', 'group'])
    const memberGroups = resolved.filter((a) => a.kind === 'group').map((a) => a.id)
    const cycle = await membershipCycle(groupId, memberGroups, (id) => u.accounts.memberGroupsOf(id))
    if (cycle) {
      const names: string[] = []
      for (const id of cycle) names.push((await u.accounts.getGroup(id))!.name)
      const index = resolved.findIndex((a) => a.id === cycle[1])
      throw new AppError(
        'GROUP_CYCLE',
        `members[${index}]: ${names[1]} would make the group contain itself (${names.join(' → ')})`,
        { field: `members[${index}]` }
      )
    }
    await u.accounts.setMembers(groupId, resolved.map((a) => a.id))
  }

  private async saveComputer (u: Unit, id: string | undefined, input: ComputerUpdate): Promise<Saved> {
    let domainId: string | undefined
    let name: string | undefined
    if (input.name !== undefined) {
      if (!isValidComputerName(input.name)) throw new AppError('VALIDATION_FAILED', 'name: a computer name cannot be all digits', { field: 'name' })
      const parts = splitQualifiedName(input.name)
      const domain = await u.domains.findByName(parts.domain)
      if (!domain) throw new AppError('UNKNOWN_REFERENCE', `name: there is no domain ${parts.domain}`, { field: 'name' })
      const other = await u.computers.findByName(input.name)
      if (other && other.id !== id) throw new AppError('DUPLICATE_NAME', `name: a computer named ${input.name} already exists`, { field: 'name' })
      domainId = domain.id
      name = parts.name
    }
    if (input.firewall !== undefined) checkFirewall(input.firewall)
    const created = id === undefined
    if (id === undefined) id = await u.computers.insert(domainId!, name!, input)
    else await u.computers.update(id, { ...input, domainId, name })
    for (const field of Object.keys(COMPUTER_ROLES) as ComputerRoleField[]) {
      const names = input[field]
      if (names === undefined) continue
      const accounts = await this.resolveAccounts(u, names, field, field === 'users' ? ['user'] : ['user', 'group'])
      await u.computers.setMembers(id, field, accounts.map((a) => a.id))
    }
    return { id, created }
  }

  /** Resolves `DOMAIN\name` references; each must exist, be of an allowed kind, and appear once. */
  private async resolveAccounts (u: Unit, names: string[], field: string, kinds: AccountKind[]): Promise<Array<{ id: string, kind: AccountKind }>> {
    const resolved: Array<{ id: string, kind: AccountKind }> = []
    for (const [i, name] of names.entries()) {
      const account = await u.accounts.findByName(name)
      if (!account) throw new AppError('UNKNOWN_REFERENCE', `${field}[${i}]: there is no user or group ${name}`, { field: `${field}[${i}]` })
      if (!kinds.includes(account.kind)) {
        throw new AppError(
          'INVALID_REFERENCE',
          `${field}[${i}]: ${account.name} is a ${account.kind}; only ${kinds.join(' or ')}s belong here`,
          { field: `${field}[${i}]` }
        )
      }
      resolved.push(account)
    }
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

/**
 * findMembershipCycle (domain/groups.ts) over member groups read
 * asynchronously: the member groups of every group it may walk to are read
 * first, then it runs on them.
 */
async function membershipCycle (
  groupId: string,
  memberGroupIds: string[],
  memberGroupsOf: (id: string) => Promise<string[]>
): Promise<string[] | null> {
  const members = new Map<string, string[]>()
  const queue = [...memberGroupIds]
  while (queue.length > 0) {
    const id = queue.shift()!
    // The walk stops at `groupId`: its own current members are being replaced.
    if (id === groupId || members.has(id)) continue
    const found = await memberGroupsOf(id)
    members.set(id, found)
    queue.push(...found)
  }
  return findMembershipCycle(groupId, memberGroupIds, (id) => members.get(id) ?? [])
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
