import { newId } from '../db/ids.js'
import type { Db } from '../db/database.js'
import { nowIso } from '../db/database.js'
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
  constructor (private readonly db: Db) {}

  /** Resolves `DOMAIN\name` case-insensitively. */
  findByName (qualified: string): AccountRef | undefined {
    const { domain, name } = splitQualifiedName(qualified)
    const row = this.db.prepare(`SELECT a.id, a.kind, ${QUALIFIED} AS name, a.enabled FROM accounts a JOIN domains d ON d.id = a.domain_id
      WHERE d.name_key = ? AND a.name_key = ?`).get(nameKey(domain), nameKey(name)) as (Omit<AccountRef, 'enabled'> & { enabled: number }) | undefined
    return row && { ...row, enabled: row.enabled === 1 }
  }

  kindOf (id: string): AccountKind | undefined {
    return (this.db.prepare('SELECT kind FROM accounts WHERE id = ?').get(id) as { kind: AccountKind } | undefined)?.kind
  }

  insert (kind: AccountKind, domainId: string, name: string, fields: AccountFields): string {
    const id = newId()
    const now = nowIso()
    this.db.prepare(`INSERT INTO accounts (id, kind, domain_id, name, name_key, display_name, email, description, enabled, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      id, kind, domainId, name, nameKey(name), fields.displayName ?? null, fields.email ?? null,
      fields.description ?? null, fields.enabled === false ? 0 : 1, now, now)
    return id
  }

  update (id: string, fields: AccountFields & { domainId?: string | undefined, name?: string | undefined }): void {
    const c = this.db.prepare('SELECT * FROM accounts WHERE id = ?').get(id) as AccountRow
    const pick = <T>(v: T | undefined, current: T): T => (v === undefined ? current : v)
    const name = pick(fields.name, c.name)
    this.db.prepare(`UPDATE accounts SET domain_id = ?, name = ?, name_key = ?, display_name = ?, email = ?, description = ?,
      enabled = ?, updated_at = ? WHERE id = ?`).run(
      pick(fields.domainId, c.domain_id), name, nameKey(name), pick(fields.displayName, c.display_name),
      pick(fields.email, c.email), pick(fields.description, c.description),
      fields.enabled === undefined ? c.enabled : (fields.enabled ? 1 : 0), nowIso(), id)
  }

  delete (id: string): void {
    this.db.prepare('DELETE FROM accounts WHERE id = ?').run(id)
  }

  /** Whether invitations or sessions name the account (their history must keep it). */
  inUse (id: string): boolean {
    return this.db.prepare(`SELECT 1 FROM invitations WHERE novice_id = ? OR redeemed_by = ?
      UNION ALL SELECT 1 FROM sessions WHERE novice_id = ? OR expert_id = ? LIMIT 1`).get(id, id, id, id) !== undefined
  }

  setMembers (groupId: string, memberIds: string[]): void {
    this.db.prepare('DELETE FROM group_members WHERE group_id = ?').run(groupId)
    const add = this.db.prepare('INSERT INTO group_members (group_id, member_id, position) VALUES (?, ?, ?)')
    memberIds.forEach((m, i) => add.run(groupId, m, i))
  }

  /** Direct member groups of a group (for cycle checks). */
  memberGroupsOf (groupId: string): string[] {
    return (this.db.prepare(`SELECT m.member_id FROM group_members m JOIN accounts a ON a.id = m.member_id
      WHERE m.group_id = ? AND a.kind = 'group'`).all(groupId) as Array<{ member_id: string }>).map((r) => r.member_id)
  }

  /** Groups `accountId` is a direct member of, with their `DOMAIN\name`. */
  parentGroupsOf (accountId: string): Array<{ id: string, name: string }> {
    return this.db.prepare(`SELECT m.group_id AS id, ${QUALIFIED} AS name FROM group_members m
      JOIN accounts a ON a.id = m.group_id JOIN domains d ON d.id = a.domain_id WHERE m.member_id = ?`).all(accountId) as Array<{ id: string, name: string }>
  }

  getUser (id: string): User | undefined {
    const row = this.db.prepare(`${SELECT} WHERE a.id = ? AND a.kind = 'user'`).get(id) as AccountRow | undefined
    return row && this.toUsers([row])[0]
  }

  getGroup (id: string): Group | undefined {
    const row = this.db.prepare(`${SELECT} WHERE a.id = ? AND a.kind = 'group'`).get(id) as AccountRow | undefined
    return row && this.toGroups([row])[0]
  }

  listUsers (query: ListQuery): PageOf<User> {
    return this.list('user', query, (rows) => this.toUsers(rows))
  }

  listGroups (query: ListQuery): PageOf<Group> {
    return this.list('group', query, (rows) => this.toGroups(rows))
  }

  private list<T> (kind: AccountKind, query: ListQuery, map: (rows: AccountRow[]) => T[]): PageOf<T> {
    const { where, args } = whereOf([
      ['a.kind = ?', kind],
      ['d.name_key = ?', query.domain && nameKey(query.domain)],
      ['(d.name_key, a.name_key, a.id) > (?, ?, ?)', decodeCursor(query.cursor, 3)]
    ])
    const rows = this.db.prepare(`${SELECT} ${where} ORDER BY d.name_key, a.name_key, a.id LIMIT ?`)
      .all(...args, query.limit + 1) as AccountRow[]
    return pageOf(rows, query.limit, (r) => [r.domain_key, r.name_key, r.id], map)
  }

  /** Qualified names of the groups each of `ids` is a direct member of. */
  private memberOf (ids: string[]): Map<string, string[]> {
    const rows = this.db.prepare(`SELECT m.member_id AS id, ${QUALIFIED} AS name FROM group_members m
      JOIN accounts a ON a.id = m.group_id JOIN domains d ON d.id = a.domain_id
      WHERE m.member_id IN (${placeholders(ids.length)}) ORDER BY d.name_key, a.name_key`).all(...ids) as Array<{ id: string, name: string }>
    return groupBy(rows)
  }

  private membersOf (ids: string[]): Map<string, string[]> {
    const rows = this.db.prepare(`SELECT m.group_id AS id, ${QUALIFIED} AS name FROM group_members m
      JOIN accounts a ON a.id = m.member_id JOIN domains d ON d.id = a.domain_id
      WHERE m.group_id IN (${placeholders(ids.length)}) ORDER BY m.position`).all(...ids) as Array<{ id: string, name: string }>
    return groupBy(rows)
  }

  private toUsers (rows: AccountRow[]): User[] {
    if (rows.length === 0) return []
    const memberOf = this.memberOf(rows.map((r) => r.id))
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

  private toGroups (rows: AccountRow[]): Group[] {
    if (rows.length === 0) return []
    const ids = rows.map((r) => r.id)
    const memberOf = this.memberOf(ids)
    const members = this.membersOf(ids)
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
