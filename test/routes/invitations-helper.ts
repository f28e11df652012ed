import type { Test } from 'tap'
import { build, type Json, type TestApp } from '../helper.js'

export interface InvitationWorld extends TestApp {
  alice: string
  bob: string
  carol: string
  pc10: string
  pcXp: string
  contoso: string
  /** Creates an invitation as alice; returns the 201 body or throws. */
  invite: (body?: Json) => Promise<Json>
  redeem: (ticket: string, password?: string, token?: string) => Promise<import('fastify').LightMyRequestResponse>
}

/** CONTOSO: alice sits at PC-10 (Windows 10) and PC-XP (XP); bob is an expert; carol is another user. */
export async function world (t: Test, env: Record<string, string> = {}, dir?: string): Promise<InvitationWorld> {
  const app = await build(t, env, dir)
  const imported = await app.call('POST', '/v1/directory/import', {
    domains: [{ name: 'CONTOSO' }],
    users: [{ name: 'CONTOSO\\alice' }, { name: 'CONTOSO\\bob' }, { name: 'CONTOSO\\carol' }],
    computers: [
      { name: 'CONTOSO\\PC-10', platform: 'windows-10', users: ['CONTOSO\\alice'] },
      { name: 'CONTOSO\\PC-XP', platform: 'xp-pro', users: ['CONTOSO\\alice'] }
    ]
  })
  if (imported.statusCode !== 200) throw new Error(imported.body)
  const tokenOf = async (user: string): Promise<string> => (await app.call('POST', '/v1/tokens', { principal: { type: 'user', user } })).json().token
  const idOf = async (path: string, name: string): Promise<string> =>
    ((await app.call('GET', `${path}?limit=500`)).json().items as Json[]).find((i) => i.name === name).id
  const alice = await tokenOf('CONTOSO\\alice')
  const bob = await tokenOf('CONTOSO\\bob')
  return {
    ...app,
    alice,
    bob,
    carol: await tokenOf('CONTOSO\\carol'),
    pc10: await idOf('/v1/computers', 'CONTOSO\\PC-10'),
    pcXp: await idOf('/v1/computers', 'CONTOSO\\PC-XP'),
    contoso: await idOf('/v1/domains', 'CONTOSO'),
    invite: async (body = {}) => {
      const res = await app.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', ...body }, alice)
      if (res.statusCode !== 201) throw new Error(`invite: ${res.statusCode} ${res.body}`)
      return res.json()
    },
    redeem: (ticket, password, token = bob) => app.call('POST', '/v1/redemptions', password === undefined ? { ticket } : { ticket, password }, token)
  }
}

/** Sets the domain's only linked policy to these settings (creating it). */
export async function setPolicy (w: InvitationWorld, settings: Json): Promise<string> {
  const res = await w.call('POST', '/v1/policies', { name: `P-${Math.random().toString(36).slice(2)}`, settings })
  if (res.statusCode !== 201) throw new Error(res.body)
  const id = res.json().policy.id
  await w.call('PUT', `/v1/domains/${w.contoso}/policy-links`, { policies: [id] })
  return id
}
