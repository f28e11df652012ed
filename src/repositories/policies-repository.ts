import { newId } from '../db/ids.js'
import type { Db } from '../db/database.js'
import { nowIso } from '../db/database.js'
import { nameKey } from '../domain/names.js'
import type { PolicySettings } from '../domain/policy.js'
import type { PolicyLayer } from '../domain/resultant-policy.js'
import type { Policy } from '../schemas/policy.js'
import { decodeCursor, pageOf, placeholders, type PageOf } from './paging.js'

interface PolicyRow {
  id: string
  name: string
  name_key: string
  description: string | null
  settings: string
  created_at: string
  updated_at: string
}

export interface DomainLink { policyId: string, policyName: string, linkOrder: number }

export class PoliciesRepository {
  constructor (private readonly db: Db) {}

  findByName (name: string): { id: string, name: string } | undefined {
    return this.db.prepare('SELECT id, name FROM policies WHERE name_key = ?').get(nameKey(name)) as { id: string, name: string } | undefined
  }

  insert (fields: { name: string, description: string | null, settings: PolicySettings }): string {
    const id = newId()
    const now = nowIso()
    this.db.prepare('INSERT INTO policies (id, name, name_key, description, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, fields.name, nameKey(fields.name), fields.description, JSON.stringify(fields.settings), now, now)
    return id
  }

  update (id: string, fields: { name: string, description: string | null, settings: PolicySettings }): void {
    this.db.prepare('UPDATE policies SET name = ?, name_key = ?, description = ?, settings = ?, updated_at = ? WHERE id = ?')
      .run(fields.name, nameKey(fields.name), fields.description, JSON.stringify(fields.settings), nowIso(), id)
  }

  delete (id: string): void {
    this.db.prepare('DELETE FROM policies WHERE id = ?').run(id)
  }

  get (id: string): Policy | undefined {
    const row = this.db.prepare('SELECT * FROM policies WHERE id = ?').get(id) as PolicyRow | undefined
    return row && this.toPolicies([row])[0]
  }

  list (query: { limit: number, cursor?: string | undefined }): PageOf<Policy> {
    const cursor = decodeCursor(query.cursor, 2)
    const rows = this.db.prepare(`SELECT * FROM policies ${cursor ? 'WHERE (name_key, id) > (?, ?)' : ''} ORDER BY name_key, id LIMIT ?`)
      .all(...(cursor ?? []), query.limit + 1) as PolicyRow[]
    return pageOf(rows, query.limit, (r) => [r.name_key, r.id], (page) => this.toPolicies(page))
  }

  /** A domain's links, link order 1 first. */
  domainLinks (domainId: string): DomainLink[] {
    return this.db.prepare(`SELECT l.policy_id AS policyId, p.name AS policyName, l.link_order AS linkOrder
      FROM policy_links l JOIN policies p ON p.id = l.policy_id WHERE l.domain_id = ? ORDER BY l.link_order`).all(domainId) as DomainLink[]
  }

  /** Replaces a domain's links; the list's order is the link order. */
  setDomainLinks (domainId: string, policyIds: string[]): void {
    this.db.prepare('DELETE FROM policy_links WHERE domain_id = ?').run(domainId)
    const add = this.db.prepare('INSERT INTO policy_links (domain_id, policy_id, link_order) VALUES (?, ?, ?)')
    policyIds.forEach((p, i) => add.run(domainId, p, i + 1))
  }

  localPolicy (computerId: string): { settings: PolicySettings, updatedAt: string } | undefined {
    const row = this.db.prepare('SELECT settings, updated_at FROM computer_local_policies WHERE computer_id = ?')
      .get(computerId) as { settings: string, updated_at: string } | undefined
    return row && { settings: JSON.parse(row.settings) as PolicySettings, updatedAt: row.updated_at }
  }

  setLocalPolicy (computerId: string, settings: PolicySettings): void {
    this.db.prepare(`INSERT INTO computer_local_policies (computer_id, settings, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (computer_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`)
      .run(computerId, JSON.stringify(settings), nowIso())
  }

  /**
   * The policy layers of a computer in precedence order, read fresh on every call
   * (O9: a change applies to the next decision; nothing is cached).
   */
  layersFor (computer: { id: string, name: string, domainId: string, domain: string }): PolicyLayer[] {
    const linked = this.db.prepare(`SELECT p.id, p.name, p.settings, l.link_order FROM policy_links l JOIN policies p ON p.id = l.policy_id
      WHERE l.domain_id = ? ORDER BY l.link_order`).all(computer.domainId) as Array<{ id: string, name: string, settings: string, link_order: number }>
    const layers: PolicyLayer[] = linked.map((r) => ({
      source: { type: 'domain-policy', policyId: r.id, policyName: r.name, domain: computer.domain, linkOrder: r.link_order },
      settings: JSON.parse(r.settings) as PolicySettings
    }))
    const local = this.localPolicy(computer.id)
    if (local) layers.push({ source: { type: 'local-policy', computer: computer.name }, settings: local.settings })
    return layers
  }

  /** Names of the domains a policy is linked to. */
  linkedDomains (policyId: string): string[] {
    return (this.db.prepare('SELECT d.name FROM policy_links l JOIN domains d ON d.id = l.domain_id WHERE l.policy_id = ? ORDER BY d.name_key')
      .all(policyId) as Array<{ name: string }>).map((r) => r.name)
  }

  private toPolicies (rows: PolicyRow[]): Policy[] {
    if (rows.length === 0) return []
    const ids = rows.map((r) => r.id)
    const links = this.db.prepare(`SELECT l.policy_id, d.name AS domain, d.id AS domainId, l.link_order AS linkOrder FROM policy_links l
      JOIN domains d ON d.id = l.domain_id WHERE l.policy_id IN (${placeholders(ids.length)}) ORDER BY d.name_key`)
      .all(...ids) as Array<{ policy_id: string, domain: string, domainId: string, linkOrder: number }>
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      settings: JSON.parse(r.settings) as Policy['settings'],
      links: links.filter((l) => l.policy_id === r.id).map(({ domain, domainId, linkOrder }) => ({ domain, domainId, linkOrder })),
      createdAt: r.created_at,
      updatedAt: r.updated_at
    }))
  }
}
