import { spawnSync } from 'node:child_process'
import path from 'node:path'
import t from 'tap'
import { projectRoot } from '../src/paths.js'
import { build } from './helper.js'

function cli (dir: string, ...args: string[]) {
  const res = spawnSync(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src', 'cli.ts'), ...args], {
    cwd: projectRoot,
    env: { PATH: process.env['PATH'] ?? '', RA_DATABASE_FILE: path.join(dir, 'ra.sqlite') },
    encoding: 'utf8'
  })
  return { code: res.status, out: res.stdout, err: res.stderr }
}

t.test('the CLI creates, lists and revokes tokens offline, and audits as "cli"', async (t) => {
  const dir = t.testdir()
  const created = cli(dir, 'tokens', 'create', '--integration', 'servicenow', '--scope', 'audit:read', '--label', 'helpdesk')
  t.equal(created.code, 0, created.err)
  const token = /token \(shown once, store it now\): (ra_\S+)/.exec(created.out)?.[1]
  const id = /token id: (\S+)/.exec(created.out)?.[1]
  t.ok(token && id)

  const listed = cli(dir, 'tokens', 'list')
  t.match(listed.out, `${id}  integration servicenow [audit:read]`)
  t.notMatch(listed.out, token!)

  // The service, on the same database, accepts the token.
  const { call, app: service } = await build(t, {}, dir)
  // The CLI runs with spawnSync, which stops this process, and the service in it, until the CLI exits: the service's
  // background purge (started once it is ready) must not be holding SQLite's write lock then, or the CLI waits in vain.
  await service.services.purges!.idle()
  const events = await call('GET', '/v1/audit-events?actor=cli', undefined, token)
  t.equal(events.statusCode, 200)
  t.match(events.json().items[0], { actor: 'cli', action: 'token.create', target: `tokens/${id}` })
  t.notMatch(events.body, token!)

  const revoked = cli(dir, 'tokens', 'revoke', id!)
  t.equal(revoked.code, 0, revoked.err)
  t.equal((await call('GET', '/v1/users', undefined, token)).json().code, 'TOKEN_REVOKED')
  t.notMatch(cli(dir, 'tokens', 'list').out, id!, 'revoked tokens hidden')
  t.match(cli(dir, 'tokens', 'list', '--all').out, `${id}`)
})

t.test('the CLI refuses bad input with a message and exit code 2, changing nothing', async (t) => {
  const dir = t.testdir()
  const badScope = cli(dir, 'tokens', 'create', '--integration', 'x', '--scope', 'root')
  t.equal(badScope.code, 2)
  t.match(badScope.out, /invalid: principal\.scopes\[0\]/)
  const unknownUser = cli(dir, 'tokens', 'create', '--user', 'CONTOSO\\nobody')
  t.equal(unknownUser.code, 2)
  t.match(unknownUser.err, /no|not a user/)
  t.equal(cli(dir, 'tokens', 'create', '--admin', '--user', 'CONTOSO\\x').code, 2, 'one principal only')
  t.equal(cli(dir, 'tokens', 'revoke', '00000000-0000-4000-8000-000000000000').code, 2)
  t.equal(cli(dir, 'frobnicate').code, 2)
  t.equal(cli(dir, 'tokens', 'list', '--all').out.trim(), '', 'no token was created')
})

t.test('the CLI rotates the ticket-signing key; the service publishes both keys', async (t) => {
  const dir = t.testdir()
  const { call, app } = await build(t, {}, dir)
  await app.services.purges!.idle() // see above: spawnSync stops the service in this process
  const before = (await call('GET', '/.well-known/jwks.json', undefined, null)).json().keys.map((k: { kid: string }) => k.kid)
  const rotated = cli(dir, 'keys', 'rotate')
  t.equal(rotated.code, 0, rotated.err)
  const kid = /active key: (\S+) \(retired: (\S+)\)/.exec(rotated.out)
  t.equal(kid?.[2], before[0])
  // The retired key signed nothing that is still open, so only the new key is published.
  const after = (await call('GET', '/.well-known/jwks.json', undefined, null)).json().keys.map((k: { kid: string }) => k.kid)
  t.same(after, [kid?.[1]])
  t.match((await call('GET', '/v1/audit-events?action=key.rotate')).json().items, [{ actor: 'cli' }])
  await app.close()
})

t.test('C5: revoking an expert\'s token from the CLI ends the sessions opened with it, once the revocation has committed', async (t) => {
  const { world } = await import('./routes/invitations-helper.js')
  const dir = t.testdir()
  const w = await world(t, {}, dir)
  const { ticket } = await w.invite()
  const session = (await w.redeem(ticket)).json()
  const tokens: Array<{ id: string, principal: { user?: string } }> = (await w.call('GET', '/v1/tokens?limit=500')).json().items
  const tokenId = tokens.find((i) => i.principal.user === 'CONTOSO\\bob')!.id
  await w.app.close()
  const revoked = cli(dir, 'tokens', 'revoke', tokenId)
  t.equal(revoked.code, 0, revoked.err)
  t.equal(revoked.err, '', 'nothing on stderr')
  const again = await build(t, {}, dir)
  t.match((await again.call('GET', `/v1/sessions/${session.id}`)).json(), { state: 'ended', endReason: /token was revoked/ })
})
