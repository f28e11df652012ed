import { newId } from '../db/ids.js'
import { nowIso } from '../db/database.js'
import type { Sql } from '../db/storage.js'
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
  constructor (private readonly sql: Sql) {}

  findByName (name: string): Promise<DomainRecord | undefined> {
    return this.sql.get<DomainRecord>('SELECT id, name FROM domains WHERE name_key = ?', nameKey(name))
  }

  /** The domain whose DNS name is `dnsName` (case-insensitively): a UPN's suffix names it. */
  findByDnsName (dnsName: string): Promise<DomainRecord | undefined> {
    return this.sql.get<DomainRecord>('SELECT id, name FROM domains WHERE lower(dns_name) = lower(?)', dnsName)
  }

  async exists (id: string): Promise<boolean> {
    return await this.sql.get('SELECT 1 FROM domains WHERE id = ?', id) !== undefined
  }

  async insert (fields: { name: string, dnsName: string | null }): Promise<string> {
    const id = newId()
    const now = nowIso()
    await this.sql.run('INSERT INTO domains (id, name, name_key, dns_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      id, fields.name, nameKey(fields.name), fields.dnsName, now, now)
    return id
  }

  /** Reads the domain and writes it back changed: call inside a unit of work. */
  async update (id: string, fields: { name?: string | undefined, dnsName?: string | null | undefined }): Promise<void> {
    const current = (await this.sql.get<DomainRow>('SELECT * FROM domains WHERE id = ?', id))!
    const name = fields.name ?? current.name
    await this.sql.run('UPDATE domains SET name = ?, name_key = ?, dns_name = ?, updated_at = ? WHERE id = ?',
      name, nameKey(name), fields.dnsName === undefined ? current.dns_name : fields.dnsName, nowIso(), id)
  }

  /** Replaces the domains `id` trusts (several statements: call inside a unit of work). */
  async setTrusts (id: string, trustedIds: string[]): Promise<void> {
    await this.sql.run('DELETE FROM domain_trusts WHERE trusting_domain_id = ?', id)
    for (const trusted of trustedIds) {
      await this.sql.run('INSERT INTO domain_trusts (trusting_domain_id, trusted_domain_id) VALUES (?, ?)', id, trusted)
    }
  }

  /** How many accounts and computers still belong to the domain. */
  async contentCount (id: string): Promise<number> {
    const row = await this.sql.get<{ n: number }>(`SELECT (SELECT count(*) FROM accounts WHERE domain_id = ?) +
      (SELECT count(*) FROM computers WHERE domain_id = ?) AS n`, id, id)
    return row!.n
  }

  async delete (id: string): Promise<void> {
    await this.sql.run('DELETE FROM domains WHERE id = ?', id)
  }

  async get (id: string): Promise<Domain | undefined> {
    const row = await this.sql.get<DomainRow>('SELECT * FROM domains WHERE id = ?', id)
    return row && (await this.toDomains([row]))[0]
  }

  async list (query: { limit: number, cursor?: string | undefined }): Promise<PageOf<Domain>> {
    const cursor = decodeCursor(query.cursor, 2)
    const rows = await this.sql.all<DomainRow>(`SELECT * FROM domains ${cursor ? 'WHERE (name_key, id) > (?, ?)' : ''}
      ORDER BY name_key, id LIMIT ?`, ...(cursor ?? []), query.limit + 1)
    const page = pageOf(rows, query.limit, (r) => [r.name_key, r.id], (page) => page)
    return { items: await this.toDomains(page.items), nextCursor: page.nextCursor }
  }

  private async toDomains (rows: DomainRow[]): Promise<Domain[]> {
    if (rows.length === 0) return []
    const ids = rows.map((r) => r.id)
    const trusts = await this.sql.all<{ trusting: string, trusted: string, trusting_name: string, trusted_name: string }>(`SELECT
        t.trusting_domain_id AS trusting, t.trusted_domain_id AS trusted, a.name AS trusting_name, b.name AS trusted_name
      FROM domain_trusts t JOIN domains a ON a.id = t.trusting_domain_id JOIN domains b ON b.id = t.trusted_domain_id
      WHERE t.trusting_domain_id IN (${placeholders(ids.length)}) OR t.trusted_domain_id IN (${placeholders(ids.length)})
      ORDER BY b.name_key, a.name_key`, ...ids, ...ids)
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
