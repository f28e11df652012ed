// The schema as the migrations leave it, on the engine under test: what `mayChangeDirectory` assumes of it.
import t from 'tap'
import { DIRECTORY_TABLES } from '../../src/db/directory-tables.js'
import { build } from '../helper.js'
import { TEST_ENGINE } from '../engine.js'

const DIRECTORY = new Set(DIRECTORY_TABLES)
const NAMES_ONE = new RegExp(`\\b(?:${DIRECTORY_TABLES.join('|')})\\b`, 'i')

t.test('the directory tables are those whose changes bump directory_version; nothing else reaches them', async (t) => {
  const { app } = await build(t)
  const storage = app.services.storage
  const triggers = TEST_ENGINE === 'postgres'
    ? await storage.all<{ tbl: string, body: string }>(`SELECT c.relname AS tbl, p.prosrc AS body FROM pg_trigger g
        JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_proc p ON p.oid = g.tgfoid WHERE NOT g.tgisinternal`)
    : await storage.all<{ tbl: string, body: string }>('SELECT tbl_name AS tbl, sql AS body FROM sqlite_master WHERE type = \'trigger\'')
  const bumping = new Set(triggers.filter((g) => /directory_version/.test(g.body)).map((g) => g.tbl))
  t.same([...bumping].sort(), DIRECTORY_TABLES.filter((name) => name !== 'directory_version'), 'DIRECTORY_TABLES, and directory_version itself')
  for (const g of triggers.filter((g) => !DIRECTORY.has(g.tbl))) {
    t.notMatch(g.body, NAMES_ONE, `a trigger on ${g.tbl} changes no directory table`)
  }
  // A foreign key action (ON DELETE CASCADE, SET NULL…) in a directory table, from a row of another table, would
  // change it by a statement that names only the other table.
  const keys = TEST_ENGINE === 'postgres'
    ? await storage.all<{ tbl: string, parent: string, action: string }>(`SELECT conrelid::regclass::text AS tbl, confrelid::regclass::text AS parent,
        confdeltype::text || confupdtype::text AS action FROM pg_constraint WHERE contype = 'f'`)
    : await storage.all<{ tbl: string, parent: string, action: string }>(`SELECT m.name AS tbl, f."table" AS parent, f.on_delete || ' ' || f.on_update AS action
        FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'`)
  t.ok(keys.length > 0, 'the query finds foreign keys')
  for (const k of keys.filter((k) => DIRECTORY.has(k.tbl) && !DIRECTORY.has(k.parent))) {
    t.match(k.action, TEST_ENGINE === 'postgres' ? /^[ar]{2}$/ : /^(NO ACTION|RESTRICT) (NO ACTION|RESTRICT)$/, `${k.tbl} → ${k.parent}: no action`)
  }
})
