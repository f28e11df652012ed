import t from 'tap'
import { newId } from '../../src/db/ids.js'

t.test('ids are UUIDv7: time-ordered, increasing within a process, unique', async (t) => {
  const ids = Array.from({ length: 20_000 }, () => newId())
  t.ok(ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)), 'version 7, RFC 9562 variant')
  t.equal(new Set(ids).size, ids.length, 'unique')
  t.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!), 'each later id sorts after the one before')
  const ms = parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16)
  t.ok(Math.abs(ms - Date.now()) < 60_000, 'the first 48 bits are the time in milliseconds')
})
