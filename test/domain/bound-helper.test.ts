import t from 'tap'
import { boundHelperCheck } from '../../src/domain/bound-helper.js'

const helpdesk = { id: 'g-helpdesk', name: 'CONTOSO\\Helpdesk' }
const bob = { id: 'u-bob', name: 'CONTOSO\\bob' }

t.test('BOUND_HELPER: the named user, or a member of the named group (by id, nested groups given), and no one else', async (t) => {
  t.same(boundHelperCheck(bob, { ...bob, groups: [] }),
    { matched: true, check: { rule: 'BOUND_HELPER', passed: true, detail: 'the invitation is bound to CONTOSO\\bob, who presents it' } })
  t.same(boundHelperCheck(helpdesk, { ...bob, groups: [{ id: 'g-tier2', name: 'CONTOSO\\Tier2' }, helpdesk] }), {
    matched: true, check: { rule: 'BOUND_HELPER', passed: true, detail: 'the invitation is bound to CONTOSO\\Helpdesk; CONTOSO\\bob is a member' }
  }, 'the redemption\'s history says which way the expert matched')
  const refused = boundHelperCheck(helpdesk, { ...bob, groups: [{ id: 'g-tier2', name: 'CONTOSO\\Helpdesk' }] })
  t.match(refused, { matched: false, check: { rule: 'BOUND_HELPER', passed: false, remedy: /CONTOSO\\Helpdesk/ } }, 'a group with the same name but another id is not it')
  t.match(boundHelperCheck(bob, { id: 'u-carol', name: 'CONTOSO\\carol', groups: [] }), {
    matched: false, check: { detail: 'the invitation is bound to CONTOSO\\bob; CONTOSO\\carol is not CONTOSO\\bob and not a member of it' }
  })
})
