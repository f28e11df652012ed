import type { Test } from 'tap'
import { ENTRIES } from '../../src/domain/readiness.js'
import { build, type TestApp } from '../helper.js'

/** The firewall exceptions Windows 10 needs for Offer Remote Assistance, on every profile. */
export const WIN10_FIREWALL = Object.fromEntries(['domain', 'private', 'public'].map((p) =>
  [p, { programExceptions: [ENTRIES.msra, ENTRIES.raserver], portExceptions: [ENTRIES.port135] }]))

export interface HelpdeskWorld extends TestApp {
  tokens: Record<'alice' | 'bob' | 'carol', string>
}

/**
 * CONTOSO: alice sits at PC-10 (Windows 10, ready for offers by the Helpdesk, bob's group) and PC-XP;
 * policy lets the Helpdesk offer help (with control); carol is no helper.
 */
export async function helpdeskWorld (t: Test, env: Record<string, string> = {}): Promise<HelpdeskWorld> {
  const app = await build(t, env)
  const imported = await app.call('POST', '/v1/directory/import', {
    domains: [{ name: 'CONTOSO' }],
    users: [{ name: 'CONTOSO\\alice' }, { name: 'CONTOSO\\bob' }, { name: 'CONTOSO\\carol' }],
    groups: [{ name: 'CONTOSO\\Helpdesk', members: ['CONTOSO\\bob'] }],
    computers: [
      {
        name: 'CONTOSO\\PC-10',
        platform: 'windows-10',
        dcomEnabled: 'Y',
        users: ['CONTOSO\\alice'],
        offerRaHelpers: ['CONTOSO\\Helpdesk'],
        firewall: WIN10_FIREWALL
      },
      { name: 'CONTOSO\\PC-XP', platform: 'xp-pro', users: ['CONTOSO\\alice'] }
    ]
  })
  t.equal(imported.statusCode, 200, imported.body)
  const policy = (await app.call('POST', '/v1/policies', {
    name: 'Offer RA',
    settings: { offerRemoteAssistance: { state: 'enabled', permission: 'control', helpers: ['CONTOSO\\Helpdesk'] } }
  })).json().policy
  const contoso = (await app.call('GET', '/v1/domains')).json().items[0].id
  await app.call('PUT', `/v1/domains/${contoso}/policy-links`, { policies: [policy.id] })
  const tokenOf = async (user: string): Promise<string> => (await app.call('POST', '/v1/tokens', { principal: { type: 'user', user } })).json().token
  return { ...app, tokens: { alice: await tokenOf('CONTOSO\\alice'), bob: await tokenOf('CONTOSO\\bob'), carol: await tokenOf('CONTOSO\\carol') } }
}
