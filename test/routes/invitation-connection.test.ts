import t from 'tap'
import { world } from './invitations-helper.js'

const WIN10 = { addresses: ['[fe80::1%3]:49228', '192.168.1.200:49230'], sessionId: 'c2Vzc2lvbg==', keyHash: 'BNRjdu97DyczQSRuMRrDWoue+HA=' }

t.test('S1: connection data is checked part by part: a bad one is 400 naming the field, and nothing is created', async (t) => {
  const w = await world(t)
  const cases: Array<[object, string, string]> = [
    [{ ...WIN10, addresses: ['192.168.1.200'] }, 'connection.addresses[0]', 'host:port'],
    [{ ...WIN10, addresses: ['192.168.1.200:1', 'fe80::1:3389'] }, 'connection.addresses[1]', 'host:port'],
    [{ ...WIN10, addresses: ['10.0.0.1:70000'] }, 'connection.addresses[0]', '1–65535'],
    [{ ...WIN10, addresses: ['[fe80::xyz]:1'] }, 'connection.addresses[0]', 'IPv6'],
    [{ ...WIN10, addresses: [] }, 'connection.addresses', ''],
    [{ addresses: WIN10.addresses, sessionId: 'c2Vzc2lvbg==' }, 'connection.keyHash', 'Vista or later'],
    [{ ...WIN10, sessionId: 'a,b' }, 'connection.sessionId', ''],
    [{ ...WIN10, keyHash: 'x"y' }, 'connection.keyHash', ''],
    [{ ...WIN10, extra: 1 }, 'connection.extra', '']
  ]
  for (const [connection, field, words] of cases) {
    const res = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', connection }, w.alice)
    t.equal(res.statusCode, 400, `${field}: ${res.body}`)
    t.equal(res.json().field, field)
    if (words) t.match(res.json().message, words)
  }
  const xp = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-XP', connection: { addresses: ['[fe80::1]:3389'], sessionId: 'abc' } }, w.alice)
  t.match(xp.json(), { statusCode: 400, field: 'connection.addresses', message: /XP or Server 2003/ })
  t.same((await w.call('GET', '/v1/invitations', undefined, w.alice)).json().items, [], 'nothing was created')
})

t.test('S1: the invitation shows the connection data it was made with; the password is not kept for it', async (t) => {
  const w = await world(t)
  const created = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', password: 'blue-42-horse', connection: WIN10 }, w.alice)
  t.equal(created.statusCode, 201, created.body)
  t.same(created.json().invitation.connection, { addresses: WIN10.addresses, sessionId: WIN10.sessionId, keyHash: WIN10.keyHash })
  t.same((await w.call('GET', `/v1/invitations/${created.json().invitation.id}`)).json().connection, created.json().invitation.connection)
  t.equal((await w.invite()).invitation.connection, null, 'null without')
  t.notMatch(JSON.stringify((await w.call('GET', '/v1/audit-events?limit=50')).json()), 'blue-42-horse')
})
