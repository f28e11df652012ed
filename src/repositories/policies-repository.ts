import { newId } from '../db/ids.js'
import { nowIso } from '../db/database.js'
import type { Sql } from '../db/storage.js'
import { nameKey } from '../domain/names.js'
import { completeExtensions, type PolicyExtensions, type PolicySettings } from '../domain/policy.js'
import type { PolicyLayer } from '../domain/resultant-policy.js'
import type { Policy } from '../schemas/policy.js'
import { decodeCursor, pageOf, placeholders, type PageOf } from './paging.js'

interface PolicyRow {
  id: string
  name: string
  name_key: string
  description: string | null
  settings: string
  extensions: string
  created_at: string
  updated_at: string
}

export interface DomainLink { policyId: string, policyName: string, linkOrder: number }

export class PoliciesRepository {
  constructor (private readonly sql: Sql) {}

  findByName (name: string): Promise<{ id: string, name: string } | undefined> {
    return this.sql.get<{ id: string, name: string }>('SELECT id, name FROM policies WHERE name_key = ?', nameKey(name))
  }

  async insert (fields: { name: string, description: string | null, settings: PolicySettings, extensions: PolicyExtensions }): Promise<string> {
    const id = newId()
    const now = nowIso()
    await this.sql.run(`INSERT INTO policies (id, name, name_key, description, settings, extensions, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    id, fields.name, nameKey(fields.name), fields.description, JSON.stringify(fields.settings), JSON.stringify(fields.extensions), now, now)
    return id
  }

  async update (id: string, fields: { name: string, description: string | null, settings: PolicySettings, extensions: PolicyExtensions }): Promise<void> {
    await this.sql.run('UPDATE policies SET name = ?, name_key = ?, description = ?, settings = ?, extensions = ?, updated_at = ? WHERE id = ?',
      fields.name, nameKey(fields.name), fields.description, JSON.stringify(fields.settings), JSON.stringify(fields.extensions), nowIso(), id)
  }

  async delete (id: string): Promise<void> {
    await this.sql.run('DELETE FROM policies WHERE id = ?', id)
  }

  async get (id: string): Promise<Policy | undefined> {
    const row = await this.sql.get<PolicyRow>('SELECT * FROM policies WHERE id = ?', id)
    return row && (await this.toPolicies([row]))[0]
  }

  async list (query: { limit: number, cursor?: string | undefined }): Promise<PageOf<Policy>> {
    const cursor = decodeCursor(query.cursor, 2)
    const rows = await this.sql.all<PolicyRow>(`SELECT * FROM policies ${cursor ? 'WHERE (name_key, id) > (?, ?)' : ''} ORDER BY name_key, id LIMIT ?`,
      ...(cursor ?? []), query.limit + 1)
    const page = pageOf(rows, query.limit, (r) => [r.name_key, r.id], (page) => page)
    return { items: await this.toPolicies(page.items), nextCursor: page.nextCursor }
  }

  /** A domain's links, link order 1 first. */
  domainLinks (domainId: string): Promise<DomainLink[]> {
    // Quoted aliases: PostgreSQL folds unquoted ones to lower case.
    return this.sql.all<DomainLink>(`SELECT l.policy_id AS "policyId", p.name AS "policyName", l.link_order AS "linkOrder"
      FROM policy_links l JOIN policies p ON p.id = l.policy_id WHERE l.domain_id = ? ORDER BY l.link_order`, domainId)
  }

  /** Replaces a domain's links; the list's order is the link order (several statements: call inside a unit of work). */
  async setDomainLinks (domainId: string, policyIds: string[]): Promise<void> {
    await this.sql.run('DELETE FROM policy_links WHERE domain_id = ?', domainId)
    for (const [i, p] of policyIds.entries()) {
      await this.sql.run('INSERT INTO policy_links (domain_id, policy_id, link_order) VALUES (?, ?, ?)', domainId, p, i + 1)
    }
  }

  async localPolicy (computerId: string): Promise<{ settings: PolicySettings, updatedAt: string } | undefined> {
    const row = await this.sql.get<{ settings: string, updated_at: string }>('SELECT settings, updated_at FROM computer_local_policies WHERE computer_id = ?',
      computerId)
    return row && { settings: JSON.parse(row.settings) as PolicySettings, updatedAt: row.updated_at }
  }

  async setLocalPolicy (computerId: string, settings: PolicySettings): Promise<void> {
    await this.sql.run(`INSERT INTO computer_local_policies (computer_id, settings, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (computer_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
    computerId, JSON.stringify(settings), nowIso())
  }

  /**
   * The policy layers of a computer in precedence order, read fresh on every call
   * (O9: a change applies to the next decision; nothing is cached).
   */
  async layersFor (computer: { id: string, name: string, domainId: string, domain: string }): Promise<PolicyLayer[]> {
    const linked = await this.sql.all<{ id: string, name: string, settings: string, extensions: string, link_order: number }>(`SELECT p.id, p.name,
        p.settings, p.extensions, l.link_order
      FROM policy_links l JOIN policies p ON p.id = l.policy_id WHERE l.domain_id = ? ORDER BY l.link_order`, computer.domainId)
    const layers: PolicyLayer[] = linked.map((r) => ({
      source: { type: 'domain-policy', policyId: r.id, policyName: r.name, domain: computer.domain, linkOrder: r.link_order },
      settings: JSON.parse(r.settings) as PolicySettings,
      extensions: completeExtensions(JSON.parse(r.extensions) as Partial<PolicyExtensions>)
    }))
    const local = await this.localPolicy(computer.id)
    if (local) layers.push({ source: { type: 'local-policy', computer: computer.name }, settings: local.settings })
    return layers
  }

  /** Names of the domains a policy is linked to. */
  async linkedDomains (policyId: string): Promise<string[]> {
    return (await this.sql.all<{ name: string }>(`SELECT d.name FROM policy_links l JOIN domains d ON d.id = l.domain_id
      WHERE l.policy_id = ? ORDER BY d.name_key`, policyId)).map((r) => r.name)
  }

  private async toPolicies (rows: PolicyRow[]): Promise<Policy[]> {
    if (rows.length === 0) return []
    const ids = rows.map((r) => r.id)
    const links = await this.sql.all<{ policy_id: string, domain: string, domainId: string, linkOrder: number }>(`SELECT l.policy_id, d.name AS domain,
        d.id AS "domainId", l.link_order AS "linkOrder"
      FROM policy_links l JOIN domains d ON d.id = l.domain_id WHERE l.policy_id IN (${placeholders(ids.length)}) ORDER BY d.name_key`, ...ids)
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      settings: JSON.parse(r.settings) as Policy['settings'],
      extensions: completeExtensions(JSON.parse(r.extensions) as Partial<PolicyExtensions>),
      links: links.filter((l) => l.policy_id === r.id).map(({ domain, domainId, linkOrder }) => ({ domain, domainId, linkOrder })),
      createdAt: r.created_at,
      updatedAt: r.updated_at
    }))
  }
}
