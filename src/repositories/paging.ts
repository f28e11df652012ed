import { AppError } from '../errors.js'

/** Opaque keyset cursors: the sort key of the last row of a page, base64url-encoded. */
export function encodeCursor (key: ReadonlyArray<string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

export function decodeCursor (cursor: string | undefined, arity: number): Array<string | number> | null {
  if (cursor === undefined) return null
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(key) && key.length === arity && key.every((k) => typeof k === 'string' || typeof k === 'number')) return key
  } catch {}
  throw new AppError('VALIDATION_FAILED', 'cursor is not a cursor this service returned', { field: 'cursor' })
}

export interface PageOf<T> {
  items: T[]
  nextCursor: string | null
}

/** Rows were fetched with limit + 1: the extra row only says there is a next page. */
export function pageOf<R, T> (rows: R[], limit: number, keyOf: (row: R) => ReadonlyArray<string | number>, map: (rows: R[]) => T[]): PageOf<T> {
  const more = rows.length > limit
  const page = more ? rows.slice(0, limit) : rows
  return { items: map(page), nextCursor: more ? encodeCursor(keyOf(page[page.length - 1]!)) : null }
}

/** `?, ?, ?` for an IN list. */
export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ')

type SqlValue = string | number
/** A condition and its `?` arguments; left out when the arguments are undefined (a filter not given). */
export type Condition = readonly [clause: string, args: SqlValue | readonly SqlValue[] | null | undefined]

/** `WHERE a AND b …` of the conditions that apply, and their arguments in order (`''` when none applies). */
export function whereOf (conditions: readonly Condition[]): { where: string, args: SqlValue[] } {
  const used = conditions.filter(([, args]) => args !== undefined && args !== null)
  return {
    where: used.length === 0 ? '' : `WHERE ${used.map(([clause]) => clause).join(' AND ')}`,
    args: used.flatMap(([, args]) => (Array.isArray(args) ? args : [args]) as SqlValue[])
  }
}
