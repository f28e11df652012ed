import { READ_ONLY } from './storage.js'

/**
 * The tables whose changes bump directory_version (migrations 006's and 017's
 * triggers, on both engines; a test holds this list to them), and the counter
 * itself: what the directory cache (directory-cache.ts) holds is read from these.
 */
export const DIRECTORY_TABLES: readonly string[] = [
  'accounts', 'api_tokens', 'computer_local_policies', 'computer_members', 'computers', 'directory_version',
  'domain_trusts', 'domains', 'group_members', 'policies', 'policy_links', 'signing_keys',
  'webhook_subscription_events', 'webhook_subscriptions'
]

const DIRECTORY = new Set(DIRECTORY_TABLES)
const NAMES_A_DIRECTORY_TABLE = new RegExp(`\\b(?:${DIRECTORY_TABLES.join('|')})\\b`, 'i')
const WRITE_TARGET = /^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+"?(\w+)/i
const classified = new Map<string, boolean>()

/**
 * Whether a statement may change what the directory cache holds. A plain
 * INSERT, UPDATE or DELETE changes its own table alone (no trigger or foreign
 * key action on another table reaches a directory table: a test holds the
 * schema to that), so it counts when that table is one; any other statement
 * that may write (a CTE, DDL) counts when it names one anywhere. A unit of work
 * that ran one counts in `Storage.directoryChanges` once it commits; the others
 * (a redemption's, a session's) leave this process's reads of the counter good.
 * Remembered per text (the texts are the repositories' own).
 */
export function mayChangeDirectory (sql: string): boolean {
  let answer = classified.get(sql)
  if (answer === undefined) {
    const target = READ_ONLY.test(sql) ? undefined : WRITE_TARGET.exec(sql)
    answer = target === undefined ? false : target === null ? NAMES_A_DIRECTORY_TABLE.test(sql) : DIRECTORY.has(target[1]!.toLowerCase())
    if (classified.size < 4000) classified.set(sql, answer)
  }
  return answer
}
