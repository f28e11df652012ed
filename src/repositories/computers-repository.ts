import { newId, UUID_PATTERN } from '../db/ids.js'
import { deepFreeze, type DirectoryCache, type Freshness, lookupIn } from '../db/directory-cache.js'
import { nowIso } from '../db/database.js'
import type { Sql } from '../db/storage.js'
import { nameKey, splitQualifiedName } from '../domain/names.js'
import type { Platform } from '../domain/platforms.js'
import type { Computer, ControlPanel, Firewall } from '../schemas/directory.js'
import { groupBy, type ListQuery } from './accounts-repository.js'
import { decodeCursor, pageOf, placeholders, type PageOf, whereOf } from './paging.js'

/** The computer's member lists, by the role the account plays there. */
export const COMPUTER_ROLES = {
  localAdministrators: 'administrators',
  offerRaHelpers: 'offer-ra-helpers',
  users: 'users'
} as const
export type ComputerRoleField = keyof typeof COMPUTER_ROLES

interface ComputerRow {
  id: string
  domain_id: string
  domain_name: string
  domain_key: string
  name: string
  name_key: string
  platform: Platform | null
  dcom_enabled: 'Y' | 'N' | null
  firewall: string
  control_panel: string | null
  created_at: string
  updated_at: string
}

export interface ComputerFields {
  platform?: Platform | null | undefined
  dcomEnabled?: 'Y' | 'N' | null | undefined
  firewall?: Firewall | undefined
  controlPanel?: ControlPanel | null | undefined
}

const SELECT = `SELECT c.*, d.name AS domain_name, d.name_key AS domain_key
  FROM computers c JOIN domains d ON d.id = c.domain_id`

export class ComputersRepository {
  private readonly cachedIds
  private readonly cachedComputers
  /** `cache` null: every lookup reads the database (a unit of work sees its own changes). */
  constructor (private readonly sql: Sql, cache: DirectoryCache | null) {
    this.cachedIds = lookupIn<{ id: string }>(cache)
    this.cachedComputers = lookupIn<Computer>(cache)
  }

  /** `since`, here and below: the mark of the request it serves (DirectoryCache). */
  findByName (qualified: string, since?: Freshness): Promise<{ id: string } | undefined> {
    const { domain, name } = splitQualifiedName(qualified)
    const key = `${nameKey(domain)}\\${nameKey(name)}`
    return this.cachedIds(key, () => this.sql.get<{ id: string }>(`SELECT c.id FROM computers c JOIN domains d ON d.id = c.domain_id
      WHERE d.name_key = ? AND c.name_key = ?`, nameKey(domain), nameKey(name)), since)
  }

  /** A computer by its id or its `DOMAIN\\NAME`, as API callers may name it. */
  async findByRef (ref: string, since?: Freshness): Promise<Computer | undefined> {
    const id = UUID_PATTERN.test(ref) ? ref : (ref.includes('\\') ? (await this.findByName(ref, since))?.id : undefined)
    return id === undefined ? undefined : await this.get(id, since)
  }

  async insert (domainId: string, name: string, fields: ComputerFields): Promise<string> {
    const id = newId()
    const now = nowIso()
    await this.sql.run(`INSERT INTO computers (id, domain_id, name, name_key, platform, dcom_enabled, firewall, control_panel, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    id, domainId, name, nameKey(name), fields.platform ?? null, fields.dcomEnabled ?? null,
    JSON.stringify(fields.firewall ?? {}), fields.controlPanel ? JSON.stringify(fields.controlPanel) : null, now, now)
    return id
  }

  /** Reads the computer and writes it back changed: call inside a unit of work. */
  async update (id: string, fields: ComputerFields & { domainId?: string | undefined, name?: string | undefined }): Promise<void> {
    const c = (await this.sql.get<ComputerRow>('SELECT * FROM computers WHERE id = ?', id))!
    const name = fields.name ?? c.name
    await this.sql.run(`UPDATE computers SET domain_id = ?, name = ?, name_key = ?, platform = ?, dcom_enabled = ?, firewall = ?,
      control_panel = ?, updated_at = ? WHERE id = ?`,
    fields.domainId ?? c.domain_id, name, nameKey(name),
    fields.platform === undefined ? c.platform : fields.platform,
    fields.dcomEnabled === undefined ? c.dcom_enabled : fields.dcomEnabled,
    fields.firewall === undefined ? c.firewall : JSON.stringify(fields.firewall),
    fields.controlPanel === undefined ? c.control_panel : (fields.controlPanel && JSON.stringify(fields.controlPanel)),
    nowIso(), id)
  }

  /** Replaces one of the computer's member lists (several statements: call inside a unit of work). */
  async setMembers (computerId: string, field: ComputerRoleField, accountIds: string[]): Promise<void> {
    const role = COMPUTER_ROLES[field]
    await this.sql.run('DELETE FROM computer_members WHERE computer_id = ? AND role = ?', computerId, role)
    for (const [i, a] of accountIds.entries()) {
      await this.sql.run('INSERT INTO computer_members (computer_id, role, account_id, position) VALUES (?, ?, ?, ?)', computerId, role, a, i)
    }
  }

  async delete (id: string): Promise<void> {
    await this.sql.run('DELETE FROM computers WHERE id = ?', id)
  }

  /** Whether invitations or sessions name the computer (their history must keep it). */
  async inUse (id: string): Promise<boolean> {
    return await this.sql.get('SELECT 1 FROM invitations WHERE computer_id = ? UNION ALL SELECT 1 FROM sessions WHERE computer_id = ? LIMIT 1',
      id, id) !== undefined
  }

  /**
   * Cached until the directory changes (on the storage's repositories; read
   * afresh inside a unit of work); the computer is frozen (shared between requests).
   */
  /** The ids of the computers `accountId` sits at (is one of the `users` of), by computer name. */
  async idsWhereUser (accountId: string): Promise<string[]> {
    const rows = await this.sql.all<{ id: string }>(`SELECT c.id FROM computer_members m JOIN computers c ON c.id = m.computer_id
      WHERE m.account_id = ? AND m.role = 'users' ORDER BY c.name_key`, accountId)
    return rows.map((r) => r.id)
  }

  get (id: string, since?: Freshness): Promise<Computer | undefined> {
    return this.cachedComputers(id, async () => {
      const row = await this.sql.get<ComputerRow>(`${SELECT} WHERE c.id = ?`, id)
      return row && deepFreeze((await this.toComputers([row]))[0])
    }, since)
  }

  async list (query: ListQuery): Promise<PageOf<Computer>> {
    const { where, args } = whereOf([
      ['d.name_key = ?', query.domain && nameKey(query.domain)],
      ['(d.name_key, c.name_key, c.id) > (?, ?, ?)', decodeCursor(query.cursor, 3)]
    ])
    const rows = await this.sql.all<ComputerRow>(`${SELECT} ${where}
      ORDER BY d.name_key, c.name_key, c.id LIMIT ?`, ...args, query.limit + 1)
    const page = pageOf(rows, query.limit, (r) => [r.domain_key, r.name_key, r.id], (page) => page)
    return { items: await this.toComputers(page.items), nextCursor: page.nextCursor }
  }

  private async toComputers (rows: ComputerRow[]): Promise<Computer[]> {
    if (rows.length === 0) return []
    const ids = rows.map((r) => r.id)
    const members = await this.sql.all<{ computer_id: string, role: string, name: string }>(`SELECT m.computer_id, m.role, d.name || '\\' || a.name AS name
      FROM computer_members m JOIN accounts a ON a.id = m.account_id JOIN domains d ON d.id = a.domain_id
      WHERE m.computer_id IN (${placeholders(ids.length)}) ORDER BY m.position`, ...ids)
    const byRole = (role: string) => groupBy(members.filter((m) => m.role === role).map((m) => ({ id: m.computer_id, name: m.name })))
    const admins = byRole(COMPUTER_ROLES.localAdministrators)
    const helpers = byRole(COMPUTER_ROLES.offerRaHelpers)
    const users = byRole(COMPUTER_ROLES.users)
    return rows.map((r) => ({
      id: r.id,
      name: `${r.domain_name}\\${r.name}`,
      domain: r.domain_name,
      platform: r.platform,
      dcomEnabled: r.dcom_enabled,
      localAdministrators: admins.get(r.id) ?? [],
      offerRaHelpers: helpers.get(r.id) ?? [],
      users: users.get(r.id) ?? [],
      firewall: JSON.parse(r.firewall) as Firewall,
      controlPanel: r.control_panel ? JSON.parse(r.control_panel) as ControlPanel : null,
      createdAt: r.created_at,
      updatedAt: r.updated_at
    }))
  }
}
