// Domains: trusts and deletion.
import t from 'tap'
import { build, listAll } from '../helper.js'
import { isError, refused, created, get, patched, seed, names } from './directory-helper.js'

t.test('a domain that still has users is 409 DOMAIN_NOT_EMPTY and nothing changes; an empty one is deleted with its trusts', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  const lit = await created(t, call, '/v1/domains', { name: 'LITWARE', trusts: ['CONTOSO'] })
  await patched(t, call, `/v1/domains/${s.contoso.id}`, { trusts: ['LITWARE'] })
  await refused(t, call, 'DELETE', `/v1/domains/${s.fabrikam.id}`, undefined, 409, 'DOMAIN_NOT_EMPTY')
  await refused(t, call, 'DELETE', `/v1/domains/${s.contoso.id}`, undefined, 409, 'DOMAIN_NOT_EMPTY')
  // A domain holding only a computer is not empty either.
  const nw = await created(t, call, '/v1/domains', { name: 'NORTHWIND' })
  const c = await created(t, call, '/v1/computers', { name: 'NORTHWIND\\PC-1' })
  await refused(t, call, 'DELETE', `/v1/domains/${nw.id}`, undefined, 409, 'DOMAIN_NOT_EMPTY')
  t.equal((await call('DELETE', `/v1/computers/${c.id}`)).statusCode, 204)
  t.equal((await call('DELETE', `/v1/domains/${nw.id}`)).statusCode, 204)

  // LITWARE trusts CONTOSO and is trusted by CONTOSO: both trusts go with it.
  t.strictSame((await get(call, `/v1/domains/${s.contoso.id}`)).trustedBy, ['FABRIKAM', 'LITWARE'])
  const res = await call('DELETE', `/v1/domains/${lit.id}`)
  t.equal(res.statusCode, 204)
  isError(t, await call('GET', `/v1/domains/${lit.id}`), 404, 'NOT_FOUND')
  const contoso = await get(call, `/v1/domains/${s.contoso.id}`)
  t.strictSame([contoso.trusts, contoso.trustedBy], [[], ['FABRIKAM']])
  t.strictSame(names(await listAll(call, '/v1/domains')), ['CONTOSO', 'FABRIKAM'])
  // Emptying FABRIKAM lets it go too, and CONTOSO is then trusted by nobody.
  await patched(t, call, `/v1/groups/${s.tier2.id}`, { members: [] })
  t.equal((await call('DELETE', `/v1/users/${s.carol.id}`)).statusCode, 204)
  t.equal((await call('DELETE', `/v1/domains/${s.fabrikam.id}`)).statusCode, 204)
  t.strictSame((await get(call, `/v1/domains/${s.contoso.id}`)).trustedBy, [])
  // The name is free again.
  t.strictSame((await created(t, call, '/v1/domains', { name: 'LITWARE' })).trustedBy, [])
})
