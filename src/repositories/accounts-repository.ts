import { newId } from '../db/ids.js'
import { nowIso } from '../db/database.js'
import type { Sql } from '../db/storage.js'
import { transitiveGroups } from '../domain/groups.js'
import { nameKey, splitQualifiedName } from '../domain/names.js'
import type { Group, User } from '../schemas/directory.js'
import { decodeCursor, pageOf, placeholders, type PageOf, whereOf } from './paging.js'

export type AccountKind = 'user' | 'group'

/** An account with its qualified `DOMAIN\name`, as references resolve to. */
export interface AccountRef {
  id: string
  kind: AccountKind
  name: string
  enabled: boolean
}

interface AccountRow {
  id: string
  kind: AccountKind
  domain_id: string
  domain_name: string
  domain_key: string
  name: string
  name_key: string
  display_name: string | null
  email: string | null
  description: string | null
  enabled: number
  created_at: string
  updated_at: string
}

const SELECT = `SELECT a.*, d.name AS domain_name, d.name_key AS domain_key
  FROM accounts a JOIN domains d ON d.id = a.domain_id`
const QUALIFIED = 'd.name || \'\\\' || a.name'

export interface AccountFields {
  displayName?: string | null | undefined
  email?: string | null | undefined
  description?: string | null | undefined
  enabled?: boolean | undefined
}

/** Users and groups: one name space per domain, as in Active Directory. */
export class AccountsRepository {
  constructor (private readonly sql: Sql) {}

  /** Resolves `DOMAIN\name` case-insensitively. */
  async findByName (qualified: string): Promise<AccountRef | undefined> {
    const { domain, name } = splitQualifiedName(qualified)
    const row = await this.sql.get<Omit<AccountRef, 'enabled'> & { enabled: number }>(`SELECT a.id, a.kind, ${QUALIFIED} AS name, a.enabled
      FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE d.name_key = ? AND a.name_key = ?`, nameKey(domain), nameKey(name))
    return row && { ...row, enabled: row.enabled === 1 }
  }

  /**
   * The users whose e-mail address is `email` (case-insensitively), as references: a sign-in by e-mail address
   * needs exactly one.
   */
  async usersByEmail (email: string): Promise<AccountRef[]> {
    const rows = await this.sql.all<Omit<AccountRef, 'enabled'> & { enabled: number }>(`SELECT a.id, a.kind, ${QUALIFIED} AS name, a.enabled
      FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE a.kind = 'user' AND lower(a.email) = lower(?) ORDER BY a.id LIMIT 2`, email)
    return rows.map((row) => ({ ...row, enabled: row.enabled === 1 }))
  }

  async kindOf (id: string): Promise<AccountKind | undefined> {
    return (await this.sql.get<{ kind: AccountKind }>('SELECT kind FROM accounts WHERE id = ?', id))?.kind
  }

  async insert (kind: AccountKind, domainId: string, name: string, fields: AccountFields): Promise<string> {
    const id = newId()
    const now = nowIso()
    await this.sql.run(`INSERT INTO accounts (id, kind, domain_id, name, name_key, display_name, email, description, enabled, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    id, kind, domainId, name, nameKey(name), fields.displayName ?? null, fields.email ?? null,
    fields.description ?? null, fields.enabled === false ? 0 : 1, now, now)
    return id
  }

  /** Reads the account and writes it back changed: call inside a unit of work. */
  async update (id: string, fields: AccountFields & { domainId?: string | undefined, name?: string | undefined }): Promise<void> {
    const c = (await this.sql.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', id))!
    const pick = <T>(v: T | undefined, current: T): T => (v === undefined ? current : v)
    const name = pick(fields.name, c.name)
    await this.sql.run(`UPDATE accounts SET domain_id = ?, name = ?, name_key = ?, display_name = ?, email = ?, description = ?,
      enabled = ?, updated_at = ? WHERE id = ?`,
    pick(fields.domainId, c.domain_id), name, nameKey(name), pick(fields.displayName, c.display_name),
    pick(fields.email, c.email), pick(fields.description, c.description),
    fields.enabled === undefined ? c.enabled : (fields.enabled ? 1 : 0), nowIso(), id)
  }

  async delete (id: string): Promise<void> {
    await this.sql.run('DELETE FROM accounts WHERE id = ?', id)
  }

  /** Whether invitations or sessions name the account (their history must keep it). */
  async inUse (id: string): Promise<boolean> {
    return await this.sql.get(`SELECT 1 FROM invitations WHERE novice_id = ? OR redeemed_by = ?
      UNION ALL SELECT 1 FROM sessions WHERE novice_id = ? OR expert_id = ? LIMIT 1`, id, id, id, id) !== undefined
  }

  /** Replaces a group's members (several statements: call inside a unit of work). */
  async setMembers (groupId: string, memberIds: string[]): Promise<void> {
    await this.sql.run('DELETE FROM group_members WHERE group_id = ?', groupId)
    for (const [i, m] of memberIds.entries()) {
      await this.sql.run('INSERT INTO group_members (group_id, member_id, position) VALUES (?, ?, ?)', groupId, m, i)
    }
  }

  /** Direct member groups of a group (for cycle checks). */
  async memberGroupsOf (groupId: string): Promise<string[]> {
    return (await this.sql.all<{ member_id: string }>(`SELECT m.member_id FROM group_members m JOIN accounts a ON a.id = m.member_id
      WHERE m.group_id = ? AND a.kind = 'group'`, groupId)).map((r) => r.member_id)
  }

  /** Groups `accountId` is a direct member of, with their `DOMAIN\name`. */
  parentGroupsOf (accountId: string): Promise<Array<{ id: string, name: string }>> {
    return this.sql.all<{ id: string, name: string }>(`SELECT m.group_id AS id, ${QUALIFIED} AS name FROM group_members m
      JOIN accounts a ON a.id = m.group_id JOIN domains d ON d.id = a.domain_id WHERE m.member_id = ?`, accountId)
  }

  /**
   * Every group `accountId` belongs to, through nested groups too
   * (transitiveGroups in domain/groups.ts): the parents of every account it
   * reaches are read first, then the rule runs on them.
   */
  async transitiveGroupsOf (accountId: string): Promise<Array<{ id: string, name: string }>> {
    const parents = new Map<string, Array<{ id: string, name: string }>>()
    const queue = [accountId]
    while (queue.length > 0) {
      const id = queue.shift()!
      if (parents.has(id)) continue
      const found = await this.parentGroupsOf(id)
      parents.set(id, found)
      for (const parent of found) if (!parents.has(parent.id)) queue.push(parent.id)
    }
    return transitiveGroups(accountId, (id) => parents.get(id) ?? [])
  }

  async getUser (id: string): Promise<User | undefined> {
    const row = await this.sql.get<AccountRow>(`${SELECT} WHERE a.id = ? AND a.kind = 'user'`, id)
    return row && (await this.toUsers([row]))[0]
  }

  async getGroup (id: string): Promise<Group | undefined> {
    const row = await this.sql.get<AccountRow>(`${SELECT} WHERE a.id = ? AND a.kind = 'group'`, id)
    return row && (await this.toGroups([row]))[0]
  }

  listUsers (query: ListQuery): Promise<PageOf<User>> {
    return this.list('user', query, (rows) => this.toUsers(rows))
  }

  listGroups (query: ListQuery): Promise<PageOf<Group>> {
    return this.list('group', query, (rows) => this.toGroups(rows))
  }

  private async list<T> (kind: AccountKind, query: ListQuery, map: (rows: AccountRow[]) => Promise<T[]>): Promise<PageOf<T>> {
    const { where, args } = whereOf([
      ['a.kind = ?', kind],
      ['d.name_key = ?', query.domain && nameKey(query.domain)],
      ['(d.name_key, a.name_key, a.id) > (?, ?, ?)', decodeCursor(query.cursor, 3)]
    ])
    const rows = await this.sql.all<AccountRow>(`${SELECT} ${where} ORDER BY d.name_key, a.name_key, a.id LIMIT ?`, ...args, query.limit + 1)
    const page = pageOf(rows, query.limit, (r) => [r.domain_key, r.name_key, r.id], (page) => page)
    return { items: await map(page.items), nextCursor: page.nextCursor }
  }

  /** Qualified names of the groups each of `ids` is a direct member of. */
  private async memberOf (ids: string[]): Promise<Map<string, string[]>> {
    const rows = await this.sql.all<{ id: string, name: string }>(`SELECT m.member_id AS id, ${QUALIFIED} AS name FROM group_members m
      JOIN accounts a ON a.id = m.group_id JOIN domains d ON d.id = a.domain_id
      WHERE m.member_id IN (${placeholders(ids.length)}) ORDER BY d.name_key, a.name_key`, ...ids)
    return groupBy(rows)
  }

  private async membersOf (ids: string[]): Promise<Map<string, string[]>> {
    const rows = await this.sql.all<{ id: string, name: string }>(`SELECT m.group_id AS id, ${QUALIFIED} AS name FROM group_members m
      JOIN accounts a ON a.id = m.member_id JOIN domains d ON d.id = a.domain_id
      WHERE m.group_id IN (${placeholders(ids.length)}) ORDER BY m.position`, ...ids)
    return groupBy(rows)
  }

  private async toUsers (rows: AccountRow[]): Promise<User[]> {
    if (rows.length === 0) return []
    const memberOf = await this.memberOf(rows.map((r) => r.id))
    return rows.map((r) => ({
      id: r.id,
      name: `${r.domain_name}\\${r.name}`,
      domain: r.domain_name,
      displayName: r.display_name,
      email: r.email,
      enabled: r.enabled === 1,
      memberOf: memberOf.get(r.id) ?? [],
      createdAt: r.created_at,
      updatedAt: r.updated_at
    }))
  }

  private async toGroups (rows: AccountRow[]): Promise<Group[]> {
    if (rows.length === 0) return []
    const ids = rows.map((r) => r.id)
    const memberOf = await this.memberOf(ids)
    const members = await this.membersOf(ids)
    return rows.map((r) => ({
      id: r.id,
      name: `${r.domain_name}\\${r.name}`,
      domain: r.domain_name,
      description: r.description,
      members: members.get(r.id) ?? [],
      memberOf: memberOf.get(r.id) ?? [],
      createdAt: r.created_at,
      updatedAt: r.updated_at
    }))
  }
}

export interface ListQuery {
  limit: number
  cursor?: string | undefined
  domain?: string | undefined
}

export function groupBy (rows: Array<{ id: string, name: string }>): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const { id, name } of rows) {
    const list = map.get(id)
    if (list) list.push(name)
    else map.set(id, [name])
  }
  return map
}
