import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { ConfigError, ConfigSchema, defaultMaxConnections, loadConfig } from '../src/config.js'
import { projectRoot } from '../src/paths.js'
import { thrown } from './helper.js'

t.test('defaults: embedded SQLite file, loopback:8080, info logs', async (t) => {
  const c = loadConfig({})
  t.equal(c.databaseFile, path.resolve('./data/ra.sqlite'))
  t.equal(c.host, '127.0.0.1')
  t.equal(c.port, 8080)
  t.equal(c.publicBaseUrl, 'http://127.0.0.1:8080')
  t.equal(c.logLevel, 'info')
  t.equal(c.bodyLimit, 16384)
  t.equal(c.bootstrapAdminToken, undefined)
})

t.test('the default connection cap: the open-file limit less a tenth (at least 100) for the database, logs and mail', async (t) => {
  const limits = path.join(t.testdir(), 'limits')
  const cap = (soft: string) => {
    const header = 'Limit                     Soft Limit           Hard Limit           Units\n'
    writeFileSync(limits, `${header}Max open files            ${soft}                ${soft}                files\n`)
    return defaultMaxConnections(limits)
  }
  t.equal(cap('20000'), 18000, '15,000 event streams fit under this machine\'s limit')
  t.equal(cap('1024'), 921)
  t.equal(cap('256'), 156, 'at least 100 kept')
  t.equal(cap('50'), 16, 'never below 16')
  t.equal(cap('1048576'), 100000, 'at most 100,000')
  t.equal(cap('unlimited'), 1000, 'unreadable: 1,000')
  t.equal(defaultMaxConnections(path.join(t.testdir(), 'missing')), 1000)
})

t.test('values are read and coerced from strings', async (t) => {
  const c = loadConfig({ RA_PORT: '9090', RA_HOST: '::1', RA_PUBLIC_BASE_URL: 'https://ra.example.com/', RA_LOG_LEVEL: 'warn', PATH: '/usr/bin' })
  t.equal(c.port, 9090)
  t.equal(c.publicBaseUrl, 'https://ra.example.com', 'trailing slash dropped')
  t.equal(loadConfig({ RA_HOST: '::1', RA_PORT: '1' }).publicBaseUrl, 'http://[::1]:1')
  t.equal(loadConfig({ RA_HOST: '0.0.0.0' }).publicBaseUrl, 'http://localhost:8080', 'never a wildcard address')
  t.equal(c.logLevel, 'warn')
})

t.test('a bad variable is named in the error', async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ RA_PORT: 'eighty' }, 'RA_PORT'],
    [{ RA_PORT: '70000' }, 'RA_PORT'],
    [{ RA_LOG_LEVEL: 'loud' }, 'RA_LOG_LEVEL'],
    [{ RA_PUBLIC_BASE_URL: 'ftp://x' }, 'RA_PUBLIC_BASE_URL'],
    [{ RA_BODY_LIMIT: '10' }, 'RA_BODY_LIMIT'],
    [{ RA_PROT: '8080' }, 'RA_PROT']
  ]
  for (const [env, variable] of cases) {
    const err = thrown(() => loadConfig(env))
    t.ok(err instanceof ConfigError, `${variable}: a ConfigError`)
    t.equal((err as ConfigError).variable, variable)
    t.match(err?.message, variable)
  }
})

t.test('a too-short bootstrap token is refused without echoing it', async (t) => {
  const secret = 'short-secret-value'
  try {
    loadConfig({ RA_BOOTSTRAP_ADMIN_TOKEN: secret })
    t.fail('accepted a short token')
  } catch (err) {
    t.ok(err instanceof ConfigError)
    t.match((err as Error).message, /RA_BOOTSTRAP_ADMIN_TOKEN/)
    t.notMatch((err as Error).message, secret)
  }
})

t.test('the README documents every variable of the config schema', async (t) => {
  const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8')
  for (const name of Object.keys(ConfigSchema.properties)) t.match(readme, `\`${name}\``, name)
})

t.test('sign-in settings: OpenID Connect needs issuer and client id together, https or loopback http, and never echoes its secret', async (t) => {
  t.same(loadConfig({}).signIn, { sessionMinutes: 480, linkMinutes: 10, oidc: undefined }, 'no identity provider by default')
  const c = loadConfig({ RA_OIDC_ISSUER: 'https://login.contoso.com/', RA_OIDC_CLIENT_ID: 'ra', RA_OIDC_CLIENT_SECRET: 's3cret-value', RA_OIDC_USERNAME_CLAIM: 'upn' })
  t.same(c.signIn.oidc, { issuer: 'https://login.contoso.com/', clientId: 'ra', clientSecret: 's3cret-value', usernameClaim: 'upn', scopes: 'openid profile email' })
  t.ok(loadConfig({ RA_OIDC_ISSUER: 'http://127.0.0.1:9000', RA_OIDC_CLIENT_ID: 'ra' }).signIn.oidc, 'http to loopback (a test provider)')
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ RA_OIDC_ISSUER: 'https://login.contoso.com' }, 'RA_OIDC_CLIENT_ID', /is required when RA_OIDC_ISSUER is set/],
    [{ RA_OIDC_CLIENT_ID: 'ra' }, 'RA_OIDC_ISSUER', /is required when RA_OIDC_CLIENT_ID is set/],
    [{ RA_OIDC_ISSUER: 'http://login.contoso.com', RA_OIDC_CLIENT_ID: 'ra' }, 'RA_OIDC_ISSUER', /must be https/],
    [{ RA_OIDC_SCOPES: 'profile email' }, 'RA_OIDC_SCOPES', /must match/],
    [{ RA_SIGN_IN_LINK_MINUTES: '0' }, 'RA_SIGN_IN_LINK_MINUTES', /must be >= 1/],
    [{ RA_OIDC_CLIENT_SECRET: '' + 'x'.repeat(2000) }, 'RA_OIDC_CLIENT_SECRET', /must NOT have more than 1024/]
  ]
  for (const [env, variable, message] of cases) {
    const err = thrown(() => loadConfig(env)) as ConfigError
    t.equal(err?.variable, variable, JSON.stringify(env).slice(0, 80))
    t.match(err?.message, message)
    t.notMatch(err?.message, 'xxxxxxxx', 'a secret is never echoed')
  }
})

t.test('RA_WORKERS: 1 by default (one process), 1 to 64 processes; anything else is refused naming the variable', async (t) => {
  t.equal(loadConfig({}).workers, 1)
  t.equal(loadConfig({ RA_WORKERS: '4' }).workers, 4)
  for (const value of ['0', '65', '2.5', 'all']) {
    const err = thrown(() => loadConfig({ RA_WORKERS: value })) as ConfigError
    t.equal(err?.variable, 'RA_WORKERS', value)
  }
  t.equal(loadConfig({}).sessions.streamPollMs, 1000, 'streams read their sessions every second for events no notification announced')
  t.equal((thrown(() => loadConfig({ RA_STREAM_POLL_INTERVAL_MS: '10' })) as ConfigError)?.variable, 'RA_STREAM_POLL_INTERVAL_MS')
})
