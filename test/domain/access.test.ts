import t from 'tap'
import { authorize, policyEditCheck, type Principal } from '../../src/domain/access.js'

const alice: Principal = { kind: 'user', tokenId: 't3', accountId: 'a', name: 'CONTOSO\\alice' }

t.test('O11: a user edits policy of each domain it touches as Domain Admins or Group Policy Creator Owners there, or Enterprise Admins', async (t) => {
  t.same(policyEditCheck(alice, ['contoso\\group policy creator owners'], ['CONTOSO']),
    { rule: 'O11', passed: true, detail: 'CONTOSO\\alice is a policy editor of CONTOSO' }, 'case-insensitive')
  t.same(policyEditCheck(alice, ['CONTOSO\\Domain Admins', 'FABRIKAM\\Group Policy Creator Owners'], ['CONTOSO', 'FABRIKAM']),
    { rule: 'O11', passed: true, detail: 'CONTOSO\\alice is a policy editor of CONTOSO, FABRIKAM' })
  t.same(policyEditCheck(alice, ['FABRIKAM\\Enterprise Admins'], ['CONTOSO', 'NORTHWIND']),
    { rule: 'O11', passed: true, detail: 'CONTOSO\\alice is a member of FABRIKAM\\Enterprise Admins' }, 'Enterprise Admins of any domain')
  t.same(policyEditCheck(alice, ['CONTOSO\\Domain Admins'], []), { rule: 'O11', passed: true, detail: 'CONTOSO\\alice is a policy editor of ' },
    'a policy linked nowhere: no domain to be refused by')
  t.same(policyEditCheck(alice, ['CONTOSO\\Domain Admins', 'CONTOSO\\Helpdesk', 'FABRIKAM\\Administrators'], ['CONTOSO', 'FABRIKAM', 'NORTHWIND']), {
    rule: 'O11',
    passed: false,
    detail: 'CONTOSO\\alice is not a member of Domain Admins, Enterprise Admins or Group Policy Creator Owners of FABRIKAM, NORTHWIND',
    remedy: 'Add CONTOSO\\alice (or a group it belongs to) to FABRIKAM\\Group Policy Creator Owners or FABRIKAM\\Domain Admins'
  }, 'every domain short of the right is named; the remedy starts with the first')
  t.match(policyEditCheck(alice, ['FABRIKAM\\Domain Admins'], ['CONTOSO']), { passed: false }, 'another domain\'s admins are not this one\'s')
  t.match(policyEditCheck(alice, ['CONTOSO\\Enterprise Admins Readers'], ['CONTOSO']), { passed: false }, 'only that very group name')
  t.same(policyEditCheck({ kind: 'admin', tokenId: 't1' }, [], ['CONTOSO']), { rule: 'O11', passed: true, detail: 'admin may edit policy' })
  t.same(policyEditCheck({ kind: 'integration', tokenId: 't2', name: 'gpo-sync', scopes: ['policies:write'] }, [], ['CONTOSO']),
    { rule: 'O11', passed: true, detail: 'integration:gpo-sync may edit policy' })
})

t.test('access: each refusal says why', async (t) => {
  const integration: Principal = { kind: 'integration', tokenId: 't2', name: 'siem', scopes: ['audit:read'] }
  t.same(authorize(integration, { scope: 'directory:read' }),
    { allowed: false, code: 'INSUFFICIENT_SCOPE', reason: 'this token lacks the scope directory:read' })
  t.same(authorize(integration, { scope: null, users: true }), { allowed: false, code: 'INSUFFICIENT_SCOPE', reason: 'only the administrator may do this' })
  t.same(authorize(alice, { scope: 'audit:read' }), { allowed: false, code: 'ADMIN_REQUIRED', reason: 'only the administrator may do this' })
  t.same(authorize(alice, { scope: 'audit:read', users: false }), { allowed: false, code: 'ADMIN_REQUIRED', reason: 'only the administrator may do this' })
})
