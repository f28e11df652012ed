import { newId } from '../db/ids.js'
import type { Db } from '../db/database.js'
import { nowIso } from '../db/database.js'
import { nameKey } from '../domain/names.js'
import type { Domain } from '../schemas/directory.js'
import { decodeCursor, pageOf, placeholders, type PageOf } from './paging.js'

interface DomainRow {
  id: string
  name: string
  name_key: string
  dns_name: string | null
  created_at: string
  updated_at: string
}

export interface DomainRecord { id: string, name: string }

export class DomainsRepository {
  constructor (private readonly db: Db) {}

  findByName (name: string): DomainRecord | undefined {
    return this.db.prepare('SELECT id, name FROM domains WHERE name_key = ?').get(nameKey(name)) as DomainRecord | undefined
  }

  exists (id: string): boolean {
    return this.db.prepare('SELECT 1 FROM domains WHERE id = ?').get(id) !== undefined
  }

  insert (fields: { name: string, dnsName: string | null }): string {
    const id = newId()
    const now = nowIso()
    this.db.prepare('INSERT INTO domains (id, name, name_key, dns_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, fields.name, nameKey(fields.name), fields.dnsName, now, now)
    return id
  }

  update (id: string, fields: { name?: string | undefined, dnsName?: string | null | undefined }): void {
    const current = this.db.prepare('SELECT * FROM domains WHERE id = ?').get(id) as DomainRow
    const name = fields.name ?? current.name
    this.db.prepare('UPDATE domains SET name = ?, name_key = ?, dns_name = ?, updated_at = ? WHERE id = ?')
      .run(name, nameKey(name), fields.dnsName === undefined ? current.dns_name : fields.dnsName, nowIso(), id)
  }

  /** Replaces the domains `id` trusts. */
  setTrusts (id: string, trustedIds: string[]): void {
    this.db.prepare('DELETE FROM domain_trusts WHERE trusting_domain_id = ?').run(id)
    const add = this.db.prepare('INSERT INTO domain_trusts (trusting_domain_id, trusted_domain_id) VALUES (?, ?)')
    for (const trusted of trustedIds) add.run(id, trusted)
  }

  /** How many accounts and computers still belong to the domain. */
  contentCount (id: string): number {
    const row = this.db.prepare(`SELECT (SELECT count(*) FROM accounts WHERE domain_id = ?) +
      (SELECT count(*) FROM computers WHERE domain_id = ?) AS n`).get(id, id) as { n: number }
    return row.n
  }

  delete (id: string): void {
    this.db.prepare('DELETE FROM domains WHERE id = ?').run(id)
  }

  get (id: string): Domain | undefined {
    const row = this.db.prepare('SELECT * FROM domains WHERE id = ?').get(id) as DomainRow | undefined
    return row && this.toDomains([row])[0]
  }

  list (query: { limit: number, cursor?: string | undefined }): PageOf<Domain> {
    const cursor = decodeCursor(query.cursor, 2)
    const rows = this.db.prepare(`SELECT * FROM domains ${cursor ? 'WHERE (name_key, id) > (?, ?)' : ''}
      ORDER BY name_key, id LIMIT ?`).all(...(cursor ?? []), query.limit + 1) as DomainRow[]
    return pageOf(rows, query.limit, (r) => [r.name_key, r.id], (page) => this.toDomains(page))
  }

  private toDomains (rows: DomainRow[]): Domain[] {
    if (rows.length === 0) return []
    const ids = rows.map((r) => r.id)
    const trusts = this.db.prepare(`SELECT t.trusting_domain_id AS trusting, t.trusted_domain_id AS trusted,
        a.name AS trusting_name, b.name AS trusted_name
      FROM domain_trusts t JOIN domains a ON a.id = t.trusting_domain_id JOIN domains b ON b.id = t.trusted_domain_id
      WHERE t.trusting_domain_id IN (${placeholders(ids.length)}) OR t.trusted_domain_id IN (${placeholders(ids.length)})
      ORDER BY b.name_key, a.name_key`).all(...ids, ...ids) as Array<{ trusting: string, trusted: string, trusting_name: string, trusted_name: string }>
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      dnsName: r.dns_name,
      trusts: trusts.filter((t) => t.trusting === r.id).map((t) => t.trusted_name),
      trustedBy: trusts.filter((t) => t.trusted === r.id).map((t) => t.trusting_name),
      createdAt: r.created_at,
      updatedAt: r.updated_at
    }))
  }
}
