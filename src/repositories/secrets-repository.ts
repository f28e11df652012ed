import { nowIso } from '../db/database.js'
import type { Sql } from '../db/storage.js'

export interface ServiceSecretRow {
  name: string
  value: string
  encrypted: number
  created_at: string
}

/** Secrets the service makes for itself, once, for every instance (the short codes' HMAC key). */
export class SecretsRepository {
  constructor (private readonly sql: Sql) {}

  async get (name: string): Promise<ServiceSecretRow | undefined> {
    return await this.sql.get<ServiceSecretRow>('SELECT * FROM service_secrets WHERE name = ?', name)
  }

  /** Stores `value` under `name` unless an instance already did; returns what is stored (theirs or this one). */
  async getOrInsert (name: string, value: string, encrypted: boolean): Promise<ServiceSecretRow> {
    await this.sql.run('INSERT INTO service_secrets (name, value, encrypted, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING',
      name, value, encrypted ? 1 : 0, nowIso())
    return (await this.get(name))!
  }
}
