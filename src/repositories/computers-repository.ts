import { newId, UUID_PATTERN } from '../db/ids.js'
import type { Db } from '../db/database.js'
import { deepFreeze, directoryCache } from '../db/directory-cache.js'
import { nowIso } from '../db/database.js'
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
  constructor (private readonly db: Db) {
    const cache = directoryCache(db)
    this.cachedIds = cache.lookup<{ id: string }>()
    this.cachedComputers = cache.lookup<Computer>()
  }

  findByName (qualified: string): { id: string } | undefined {
    const { domain, name } = splitQualifiedName(qualified)
    const key = `${nameKey(domain)}\\${nameKey(name)}`
    return this.cachedIds(key, () => this.db.prepare(`SELECT c.id FROM computers c JOIN domains d ON d.id = c.domain_id
      WHERE d.name_key = ? AND c.name_key = ?`).get(nameKey(domain), nameKey(name)) as { id: string } | undefined)
  }

  /** A computer by its id or its `DOMAIN\\NAME`, as API callers may name it. */
  findByRef (ref: string): Computer | undefined {
    const id = UUID_PATTERN.test(ref) ? ref : (ref.includes('\\') ? this.findByName(ref)?.id : undefined)
    return id === undefined ? undefined : this.get(id)
  }

  insert (domainId: string, name: string, fields: ComputerFields): string {
    const id = newId()
    const now = nowIso()
    this.db.prepare(`INSERT INTO computers (id, domain_id, name, name_key, platform, dcom_enabled, firewall, control_panel, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      id, domainId, name, nameKey(name), fields.platform ?? null, fields.dcomEnabled ?? null,
      JSON.stringify(fields.firewall ?? {}), fields.controlPanel ? JSON.stringify(fields.controlPanel) : null, now, now)
    return id
  }

  update (id: string, fields: ComputerFields & { domainId?: string | undefined, name?: string | undefined }): void {
    const c = this.db.prepare('SELECT * FROM computers WHERE id = ?').get(id) as ComputerRow
    const name = fields.name ?? c.name
    this.db.prepare(`UPDATE computers SET domain_id = ?, name = ?, name_key = ?, platform = ?, dcom_enabled = ?, firewall = ?,
      control_panel = ?, updated_at = ? WHERE id = ?`).run(
      fields.domainId ?? c.domain_id, name, nameKey(name),
      fields.platform === undefined ? c.platform : fields.platform,
      fields.dcomEnabled === undefined ? c.dcom_enabled : fields.dcomEnabled,
      fields.firewall === undefined ? c.firewall : JSON.stringify(fields.firewall),
      fields.controlPanel === undefined ? c.control_panel : (fields.controlPanel && JSON.stringify(fields.controlPanel)),
      nowIso(), id)
  }

  setMembers (computerId: string, field: ComputerRoleField, accountIds: string[]): void {
    const role = COMPUTER_ROLES[field]
    this.db.prepare('DELETE FROM computer_members WHERE computer_id = ? AND role = ?').run(computerId, role)
    const add = this.db.prepare('INSERT INTO computer_members (computer_id, role, account_id, position) VALUES (?, ?, ?, ?)')
    accountIds.forEach((a, i) => add.run(computerId, role, a, i))
  }

  delete (id: string): void {
    this.db.prepare('DELETE FROM computers WHERE id = ?').run(id)
  }

  /** Whether invitations or sessions name the computer (their history must keep it). */
  inUse (id: string): boolean {
    return this.db.prepare('SELECT 1 FROM invitations WHERE computer_id = ? UNION ALL SELECT 1 FROM sessions WHERE computer_id = ? LIMIT 1')
      .get(id, id) !== undefined
  }

  /** Cached until the directory changes; the computer is frozen (shared between requests). */
  get (id: string): Computer | undefined {
    return this.cachedComputers(id, () => {
      const row = this.db.prepare(`${SELECT} WHERE c.id = ?`).get(id) as ComputerRow | undefined
      return row && deepFreeze(this.toComputers([row])[0])
    })
  }

  list (query: ListQuery): PageOf<Computer> {
    const { where, args } = whereOf([
      ['d.name_key = ?', query.domain && nameKey(query.domain)],
      ['(d.name_key, c.name_key, c.id) > (?, ?, ?)', decodeCursor(query.cursor, 3)]
    ])
    const rows = this.db.prepare(`${SELECT} ${where}
      ORDER BY d.name_key, c.name_key, c.id LIMIT ?`).all(...args, query.limit + 1) as ComputerRow[]
    return pageOf(rows, query.limit, (r) => [r.domain_key, r.name_key, r.id], (page) => this.toComputers(page))
  }

  private toComputers (rows: ComputerRow[]): Computer[] {
    if (rows.length === 0) return []
    const ids = rows.map((r) => r.id)
    const members = this.db.prepare(`SELECT m.computer_id, m.role, d.name || '\\' || a.name AS name FROM computer_members m
      JOIN accounts a ON a.id = m.account_id JOIN domains d ON d.id = a.domain_id
      WHERE m.computer_id IN (${placeholders(ids.length)}) ORDER BY m.position`).all(...ids) as Array<{ computer_id: string, role: string, name: string }>
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
