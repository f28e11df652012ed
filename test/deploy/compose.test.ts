/* eslint-disable no-template-curly-in-string -- Compose's ${VAR:-default} syntax, in plain strings on purpose */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { ConfigSchema, loadConfig } from '../../src/config.js'
import { projectRoot } from '../../src/paths.js'

/*
 * No Docker engine is available where the tests run, so the deployment files
 * are checked statically: docker-compose.yml is parsed, each environment value
 * is checked to be `${NAME:-default}` (or, for RA_DATABASE_URL,
 * `${NAME-default}`), its values are resolved the way Compose interpolates
 * them and fed to the real loadConfig; the Dockerfile is read as text.
 */

const KNOWN = Object.keys(ConfigSchema.properties)
const TOKEN_40 = 'compose-test-token-0123456789abcdefghijk'

function readProjectFile (name: string): string {
  return readFileSync(path.join(projectRoot, name), 'utf8')
}

type Yaml = Record<string, unknown>

function asObject (value: unknown, what: string): Yaml {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what} is not a mapping`)
  return value as Yaml
}

/** `environment:` as a map of raw templates, whether written as a mapping or a `KEY=value` list. */
function environmentOf (service: Yaml): Record<string, string> {
  const env = service['environment']
  if (env === undefined || env === null) return {}
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => {
      const s = String(entry)
      const eq = s.indexOf('=')
      return eq === -1 ? [s, ''] : [s.slice(0, eq), s.slice(eq + 1)]
    }))
  }
  return Object.fromEntries(Object.entries(asObject(env, 'environment')).map(([k, v]) => [k, v === null ? '' : String(v)]))
}

/**
 * A value written `${NAME:-default}` or `${NAME-default}` with its own name:
 * overridable from the shell or a `.env` file, with the default in the file.
 * Compose gives the default to an unset variable in both forms, and to an
 * empty one only in the `:-` form (`-` passes the empty value on).
 */
interface Template { name: string, emptyTakesDefault: boolean, fallback: string }

function templateOf (name: string, value: string): Template {
  const m = /^\$\{([A-Z][A-Z0-9_]*)(:?)-([^${}]*)\}$/.exec(value)
  if (m === null || m[1] !== name) throw new Error(`${name}: ${JSON.stringify(value)} is not \${${name}:-default}`)
  return { name, emptyTakesDefault: m[2] === ':', fallback: m[3]! }
}

function templatesOf (service: Yaml): Template[] {
  return Object.entries(environmentOf(service)).map(([name, value]) => templateOf(name, value))
}

/** The value Compose gives `template` with `env` as the shell and `.env`. */
function interpolate (template: Template, env: Record<string, string | undefined>): string {
  const value = env[template.name]
  if (value === undefined || (value === '' && template.emptyTakesDefault)) return template.fallback
  return value
}

/** The service's environment as its container sees it, given `env` as the shell and `.env`; throws naming a value in another form. */
function resolvedEnvironment (service: Yaml, env: Record<string, string | undefined> = {}): Record<string, string> {
  return Object.fromEntries(templatesOf(service).map((template) => [template.name, interpolate(template, env)]))
}

/** The defaults written in the file (nothing set in the shell or `.env`); throws naming a value in another form. */
function defaultsOf (service: Yaml): Record<string, string> {
  return resolvedEnvironment(service, {})
}

/** Published/target pairs from short (`"8080:8080"`, `"127.0.0.1:8080:8080/tcp"`) or long port syntax. */
function portsOf (service: Yaml): Array<{ published: string, target: string }> {
  const ports = service['ports']
  if (!Array.isArray(ports)) return []
  return ports.map((p) => {
    if (typeof p === 'object' && p !== null) {
      const o = p as Yaml
      return { published: String(o['published'] ?? ''), target: String(o['target'] ?? '') }
    }
    const parts = String(p).replace(/\/(tcp|udp)$/, '').split(':')
    const target = parts.pop() ?? ''
    const published = parts.pop() ?? ''
    return { published, target }
  })
}

/** Source/target pairs from short (`name:/path[:ro]`) or long volume syntax. */
function volumesOf (service: Yaml): Array<{ source: string, target: string }> {
  const volumes = service['volumes']
  if (!Array.isArray(volumes)) return []
  return volumes.map((v) => {
    if (typeof v === 'object' && v !== null) {
      const o = v as Yaml
      return { source: String(o['source'] ?? ''), target: String(o['target'] ?? '') }
    }
    const [source = '', target = ''] = String(v).split(':')
    return { source, target }
  })
}

function dependsOn (service: Yaml): string[] {
  const d = service['depends_on']
  if (Array.isArray(d)) return d.map(String)
  if (d !== null && typeof d === 'object') return Object.keys(d)
  return []
}

/** The condition `service` waits for on `dependency` (`service_started` in the short list form, as in Compose). */
function dependencyCondition (service: Yaml, dependency: string): string | undefined {
  const d = service['depends_on']
  if (Array.isArray(d)) return d.map(String).includes(dependency) ? 'service_started' : undefined
  if (d === null || typeof d !== 'object' || !(dependency in d)) return undefined
  const entry = (d as Yaml)[dependency]
  if (entry === null || entry === undefined) return 'service_started'
  return String(asObject(entry, `depends_on.${dependency}`)['condition'] ?? 'service_started')
}

/**
 * The healthcheck's command as the container's shell runs it: `$$` (Compose's
 * escape) left as `$`, then `$VAR`/`${VAR}` replaced from the container's
 * environment `env`, and split into words with their quotes removed.
 */
function healthcheckWords (service: Yaml, env: Record<string, string>): string[] {
  const test = asObject(service['healthcheck'] ?? {}, 'healthcheck')['test']
  let command: string
  if (typeof test === 'string') command = test
  else if (Array.isArray(test) && test[0] === 'CMD-SHELL') command = String(test[1] ?? '')
  else if (Array.isArray(test) && test[0] === 'CMD') command = test.slice(1).map(String).join(' ')
  else return []
  const expanded = command.replace(/\$\$/g, '$').replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, name: string) => env[name] ?? '')
  return (expanded.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((w) => w.replace(/^(["'])(.*)\1$/, '$2'))
}

/** The value of `-x value`, `--long value` or `--long=value` among `words`. */
function optionValue (words: string[], short: string, long: string): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!
    if (w === short || w === long) return words[i + 1]
    if (w.startsWith(`${long}=`)) return w.slice(long.length + 1)
  }
  return undefined
}

function isInside (dir: string, file: string): boolean {
  const rel = path.posix.relative(dir, path.posix.normalize(file))
  return path.posix.isAbsolute(file) && rel !== '' && !rel.startsWith('..') && !path.posix.isAbsolute(rel)
}

const compose = asObject(parse(readProjectFile('docker-compose.yml')), 'docker-compose.yml')
const services = asObject(compose['services'], 'services')
const ra = asObject(services['ra'], 'services.ra')
const mailpit = asObject(services['mailpit'], 'services.mailpit')
const postgres = asObject(services['postgres'] ?? {}, 'services.postgres')

/** Written `${NAME-default}` rather than `${NAME:-default}`: an empty value has a meaning of its own (RA_DATABASE_URL=: SQLite). */
const EMPTY_IS_A_VALUE = ['RA_DATABASE_URL']
const POSTGRES_URL = 'postgres://ra:ra@postgres:5432/ra'

t.test('ra\'s environment is ${ITS_NAME:-default} (RA_DATABASE_URL: ${ITS_NAME-default}): set from the shell or .env, default in the file', async (t) => {
  t.doesNotThrow(() => defaultsOf(ra))
  for (const template of templatesOf(ra)) {
    const colon = !EMPTY_IS_A_VALUE.includes(template.name)
    t.equal(template.emptyTakesDefault, colon, `${template.name} is written \${${template.name}${colon ? ':-' : '-'}default}`)
  }
  t.throws(() => defaultsOf({ environment: { RA_PORT: '8080' } }), /RA_PORT/, 'a fixed value is refused by this check')
  t.throws(() => defaultsOf({ environment: { RA_PORT: '${PORT:-8080}' } }), /RA_PORT/, 'so is another variable\'s name')
  t.throws(() => defaultsOf({ environment: { RA_PORT: '${RA_PORT:-${PORT}}' } }), /RA_PORT/, 'and a nested default')
})

t.test('ra builds here, publishes host ports from 8080 (one per replica), keeps its data in a named volume and starts after mailpit', async (t) => {
  const build = ra['build']
  const context = typeof build === 'string' ? build : asObject(build, 'services.ra.build')['context']
  t.equal(context, '.', 'build context is the project folder')
  t.equal(ra['image'], 'ra-ticket-service:local')

  // A fixed host port lets only one replica start; a range gives each replica one of its ports (8080 for the first).
  const published = portsOf(ra).find((p) => p.target === '8080')?.published ?? ''
  const [first, last = first] = published.split('-').map(Number)
  t.equal(first, 8080, `container port 8080 is published from host port 8080 (${published})`)
  t.ok(last !== undefined && first !== undefined && last - first + 1 >= 3, `the range ${published} has a port for each of three replicas`)
  t.equal(new URL(defaultsOf(ra)['RA_PUBLIC_BASE_URL'] ?? '').port, '8080', 'RA_PUBLIC_BASE_URL names the first published port')

  const data = volumesOf(ra).find((v) => v.target === '/data')
  t.ok(data, 'a volume is mounted at /data')
  t.ok(data !== undefined && !data.source.startsWith('.') && !data.source.startsWith('/'), 'the /data mount is a named volume, not a bind mount')
  const declared = Object.keys(asObject(compose['volumes'] ?? {}, 'volumes'))
  t.ok(data !== undefined && declared.includes(data.source), `volume ${data?.source} is declared at the top level`)
  t.equal(data?.source, 'ra-data')

  t.ok(dependsOn(ra).includes('mailpit'), 'ra depends on mailpit')
})

t.test('postgres is the official postgres image pinned to a 17.x release, with its data in a named volume', async (t) => {
  const image = String(postgres['image'])
  t.match(image, /^postgres:/, 'the official image (Docker Hub library/postgres)')
  t.match(image, /^postgres:17\.\d+(-(alpine|bookworm|trixie)[\d.]*)?$/, `pinned to a 17 minor release, not latest or a floating major (${image})`)

  // The image's PGDATA (up to major 17): a volume elsewhere would leave the data in the container.
  const data = volumesOf(postgres).find((v) => v.target === '/var/lib/postgresql/data')
  t.ok(data, 'a volume is mounted at /var/lib/postgresql/data')
  t.ok(data !== undefined && !data.source.startsWith('.') && !data.source.startsWith('/'), 'a named volume, not a bind mount')
  const declared = Object.keys(asObject(compose['volumes'] ?? {}, 'volumes'))
  t.ok(data !== undefined && declared.includes(data.source), `volume ${data?.source} is declared at the top level`)
  t.not(data?.source, 'ra-data', 'not the service\'s own volume')

  t.doesNotThrow(() => defaultsOf(postgres), 'its environment is ${NAME:-default} too')
  t.ok(templatesOf(postgres).every((template) => template.emptyTakesDefault), 'an empty value takes the default (`:-`)')
  t.same(portsOf(postgres), [], 'not published on the host (only the service connects; the default password is no secret)')
  t.notOk(Object.keys(environmentOf(postgres)).some((k) => k.startsWith('RA_')), 'no RA_* settings on postgres')
})

t.test('ra\'s default RA_DATABASE_URL logs in to the postgres service as the user, password and database it is created with', async (t) => {
  const url = new URL(defaultsOf(ra)['RA_DATABASE_URL'] ?? '')
  const pg = defaultsOf(postgres)
  t.match(url.protocol, /^postgres(ql)?:$/)
  t.equal(url.hostname, 'postgres', 'the host is the postgres service')
  t.ok(Object.keys(services).includes(url.hostname), 'a service of this file')
  t.ok(url.port === '' || url.port === '5432', 'on PostgreSQL\'s port')
  t.equal(decodeURIComponent(url.username), pg['POSTGRES_USER'], 'user = POSTGRES_USER')
  t.equal(decodeURIComponent(url.password), pg['POSTGRES_PASSWORD'], 'password = POSTGRES_PASSWORD')
  t.equal(decodeURIComponent(url.pathname.slice(1)), pg['POSTGRES_DB'], 'database = POSTGRES_DB')
  t.equal(url.toString(), POSTGRES_URL, 'postgres://ra:ra@postgres:5432/ra, as the README and the other tests say')
})

t.test('postgres has a pg_isready healthcheck over TCP for its own user and database, and ra starts only once it is healthy', async (t) => {
  const pg = defaultsOf(postgres)
  const words = healthcheckWords(postgres, pg)
  t.ok(words.some((w) => w === 'pg_isready' || w.endsWith('/pg_isready')), `the healthcheck runs pg_isready (${words.join(' ')})`)
  t.equal(optionValue(words, '-U', '--username'), pg['POSTGRES_USER'], 'as POSTGRES_USER')
  t.equal(optionValue(words, '-d', '--dbname'), pg['POSTGRES_DB'], 'on POSTGRES_DB')
  // Without -h it asks the Unix socket, where the image's first-start setup runs a temporary server.
  t.match(optionValue(words, '-h', '--host') ?? '', /^(127\.0\.0\.1|localhost|::1)$/, 'over TCP, as the service connects')
  t.same(healthcheckWords({ healthcheck: { test: ['CMD-SHELL', 'pg_isready -U "$${POSTGRES_USER}"'] } }, { POSTGRES_USER: 'x' }), ['pg_isready', '-U', 'x'],
    'the command is read the way the container runs it')

  t.equal(dependencyCondition(ra, 'postgres'), 'service_healthy', 'ra waits for postgres to be healthy')
  t.equal(dependencyCondition({ depends_on: ['postgres'] }, 'postgres'), 'service_started', 'a plain list would only wait for it to start')
  t.ok(dependencyCondition(ra, 'mailpit') !== undefined, 'and still for mailpit')
})

t.test('the service sends invitation e-mail to Mailpit by default', async (t) => {
  t.equal(defaultsOf(ra)['RA_SMTP_URL'], 'smtp://mailpit:1025')
  t.match(defaultsOf(ra)['RA_SMTP_FROM'], /^.+<.+@.+>$/)
})

t.test('mailpit is a pinned v1 axllent/mailpit image publishing SMTP and the web UI', async (t) => {
  const image = String(mailpit['image'])
  t.match(image, /^axllent\/mailpit:/, 'official image')
  t.match(image, /^axllent\/mailpit:v1\.\d+(\.\d+)?$/, 'pinned to a v1.x tag, not latest')
  const ports = portsOf(mailpit)
  for (const port of ['1025', '8025']) {
    t.ok(ports.some((p) => p.published === port && p.target === port), `port ${port} is published`)
  }
  t.notOk(Object.keys(environmentOf(mailpit)).some((k) => k.startsWith('RA_')), 'no RA_* settings on mailpit')
})

t.test('every RA_* variable given to ra is one the service knows', async (t) => {
  const names = Object.keys(environmentOf(ra))
  const raNames = names.filter((n) => n.startsWith('RA_'))
  t.ok(raNames.length >= 5, 'the environment sets the service\'s variables')
  for (const name of raNames) t.ok(KNOWN.includes(name), `${name} is a key of ConfigSchema`)
  for (const name of ['RA_HOST', 'RA_PORT', 'RA_DATABASE_URL', 'RA_DATABASE_FILE', 'RA_PUBLIC_BASE_URL', 'RA_LOG_LEVEL', 'RA_SMTP_URL']) {
    t.ok(names.includes(name), `${name} is set`)
  }
})

t.test('the default database file lives inside the /data volume', async (t) => {
  const file = defaultsOf(ra)['RA_DATABASE_FILE'] ?? ''
  t.ok(isInside('/data', file), `${file} is inside /data`)
  t.ok(volumesOf(ra).some((v) => v.target === '/data'), '/data is a mounted volume')
})

t.test('the defaults in the file are accepted by loadConfig', async (t) => {
  const config = loadConfig(defaultsOf(ra))
  t.equal(config.host, '0.0.0.0', 'listens on every interface inside the container')
  t.equal(config.port, 8080)
  t.equal(config.databaseFile, '/data/ra.sqlite')
  t.equal(config.publicBaseUrl, 'http://localhost:8080')
  t.equal(config.logLevel, 'info')
  t.equal(config.smtp.url, 'smtp://mailpit:1025')
  t.equal(config.databaseUrl, POSTGRES_URL, 'PostgreSQL at the default RA_DATABASE_URL, accepted by the schema\'s pattern')
  t.equal(config.databasePoolSize, 10)
  t.throws(() => loadConfig({ ...defaultsOf(ra), RA_DATABASE_URL: 'mysql://ra:ra@postgres/ra' }), { code: 'CONFIG_INVALID', variable: 'RA_DATABASE_URL' },
    'the schema checks RA_DATABASE_URL (a value it refuses would fail here)')
})

t.test('RA_DATABASE_URL= (empty, in .env or the shell) falls back to the SQLite file in the ra-data volume', async (t) => {
  const sqlite = loadConfig(resolvedEnvironment(ra, { RA_DATABASE_URL: '' }))
  t.equal(sqlite.databaseUrl, undefined, 'no PostgreSQL: the empty value reaches the service, which treats it as not set')
  t.ok(isInside('/data', sqlite.databaseFile), `the SQLite file ${sqlite.databaseFile} is inside /data`)
  t.equal(volumesOf(ra).find((v) => v.target === '/data')?.source, 'ra-data')
  t.equal(loadConfig(resolvedEnvironment(ra, {})).databaseUrl, POSTGRES_URL, 'unset: PostgreSQL')
  t.equal(loadConfig(resolvedEnvironment(ra, { RA_DATABASE_URL: 'postgres://u:p@db.example/x?sslmode=verify-full' })).databaseUrl,
    'postgres://u:p@db.example/x?sslmode=verify-full', 'set: that server')
  // Why ${RA_DATABASE_URL-…} and not ${RA_DATABASE_URL:-…}: with `:-`, Compose would replace the empty value by the default.
  t.equal(interpolate(templateOf('X', '${X:-d}'), { X: '' }), 'd')
  t.equal(interpolate(templateOf('X', '${X-d}'), { X: '' }), '')
})

t.test('RA_BOOTSTRAP_ADMIN_TOKEN is optional: empty by default (no bootstrap token: one is generated into /data)', async (t) => {
  // Required (`:?`) would make every compose command, `down` and `logs` too, fail until it is set.
  t.equal(environmentOf(ra)['RA_BOOTSTRAP_ADMIN_TOKEN'], '${RA_BOOTSTRAP_ADMIN_TOKEN:-}')
  t.equal(loadConfig(defaultsOf(ra)).bootstrapAdminToken, undefined, 'empty counts as not set')
  t.equal(loadConfig({ ...defaultsOf(ra), RA_BOOTSTRAP_ADMIN_TOKEN: TOKEN_40 }).bootstrapAdminToken, TOKEN_40, 'a value from the shell is used')
  t.throws(
    () => loadConfig({ ...defaultsOf(ra), RA_BOOTSTRAP_ADMIN_TOKEN: 'too-short' }),
    { code: 'CONFIG_INVALID', variable: 'RA_BOOTSTRAP_ADMIN_TOKEN' },
    'a short token is refused by the service'
  )
})

// ---------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------

interface Instruction { keyword: string, args: string }

/** Instructions in order, with comments dropped and `\` continuations joined. */
function dockerfileInstructions (text: string): Instruction[] {
  const logical: string[] = []
  let current = ''
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*#/.test(line)) continue
    if (/\\\s*$/.test(line)) { current += line.replace(/\\\s*$/, ' '); continue }
    current += line
    if (current.trim() !== '') logical.push(current.trim())
    current = ''
  }
  if (current.trim() !== '') logical.push(current.trim())
  return logical.map((l) => {
    const m = /^(\S+)\s*(.*)$/.exec(l) as RegExpExecArray
    return { keyword: (m[1] as string).toUpperCase(), args: (m[2] as string).replace(/\s+/g, ' ').trim() }
  })
}

/** `KEY=value KEY2="v 2"` (or legacy `KEY value`) as a map. */
function keyValues (args: string): Record<string, string> {
  const out: Record<string, string> = {}
  const pairs = [...args.matchAll(/([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)]
  if (pairs.length === 0) {
    const [key, ...rest] = args.split(' ')
    if (key !== undefined) out[key] = rest.join(' ')
    return out
  }
  for (const [, key, raw = ''] of pairs) out[key as string] = raw.replace(/^(["'])(.*)\1$/, '$2')
  return out
}

const dockerfile = dockerfileInstructions(readProjectFile('Dockerfile'))
const firstFrom = dockerfile.findIndex((i) => i.keyword === 'FROM')
const globalArgs: Record<string, string> = {}
for (const i of dockerfile.slice(0, Math.max(firstFrom, 0))) if (i.keyword === 'ARG') Object.assign(globalArgs, keyValues(i.args))
const lastFrom = dockerfile.map((i) => i.keyword).lastIndexOf('FROM')
const runtime = dockerfile.slice(lastFrom + 1)

function fromImage (i: Instruction): string {
  const image = i.args.split(' ').filter((w) => !w.startsWith('--'))[0] ?? ''
  return image.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, name: string) => globalArgs[name] ?? '')
}

t.test('the Dockerfile builds and runs on Node 20', async (t) => {
  const froms = dockerfile.filter((i) => i.keyword === 'FROM')
  t.ok(froms.length >= 2, 'multi-stage: a build stage and a runtime stage')
  const stageNames = froms.map((i) => /\bAS (\S+)$/i.exec(i.args)?.[1]?.toLowerCase())
  for (const i of froms) {
    const image = fromImage(i)
    // A FROM naming an earlier stage is fine; every base image must be node 20.
    if (stageNames.includes(image.toLowerCase())) continue
    t.match(image, /^node:20([.-]|$)/, `FROM ${i.args} resolves to a Node 20 image (${image})`)
  }
  t.equal(fromImage(froms[froms.length - 1] as Instruction), 'node:20-bookworm-slim', 'the runtime stage is node:20-bookworm-slim')
})

t.test('the runtime stage exposes 8080, runs as a non-root user and starts the compiled server', async (t) => {
  const exposed = runtime.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(' ').map((p) => p.replace(/\/tcp$/, '')))
  t.ok(exposed.includes('8080'), 'EXPOSE 8080')

  const users = runtime.filter((i) => i.keyword === 'USER')
  t.ok(users.length > 0, 'the runtime stage sets USER')
  const user = (users[users.length - 1]?.args ?? '').split(':')[0]
  t.ok(user !== undefined && user !== '' && user !== 'root' && user !== '0', `runs as a non-root user (${user})`)

  const copies = runtime.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD').map((i) => i.args.split(' ').filter((w) => !w.startsWith('--')))
  const copied = (name: string) => copies.some((words) => words.slice(0, -1).some((w) => w.replace(/^\/app\//, '').replace(/\/$/, '') === name))
  for (const name of ['migrations', 'web', 'package.json', 'node_modules', 'dist']) t.ok(copied(name), `copies ${name} into the image`)

  const cmd = runtime.filter((i) => i.keyword === 'CMD').pop()
  t.ok(cmd, 'the runtime stage has a CMD')
  const argv: unknown = cmd === undefined ? null : JSON.parse(cmd.args)
  t.same(argv, ['node', 'dist/src/server.js'], 'CMD runs the compiled server with node (exec form)')
  // tsc (outDir dist, rootDir .) compiles src/server.ts to dist/src/server.js.
  const tsconfig = JSON.parse(readProjectFile('tsconfig.json')) as { compilerOptions: { outDir: string, rootDir: string } }
  t.equal(path.posix.join(tsconfig.compilerOptions.outDir, path.posix.relative(tsconfig.compilerOptions.rootDir, 'src/server.js')), 'dist/src/server.js')
  t.doesNotThrow(() => readProjectFile('src/server.ts'), 'the server entry point exists')

  const health = runtime.filter((i) => i.keyword === 'HEALTHCHECK').pop()
  t.match(health?.args ?? '', /\/healthz/, 'HEALTHCHECK calls /healthz')
  t.notMatch(health?.args ?? '', /\bcurl\b|\bwget\b/, 'the health check needs no curl or wget (not in the slim image)')
})

t.test('the runtime stage\'s environment is valid and keeps the database in the /data volume', async (t) => {
  const env: Record<string, string> = {}
  for (const i of runtime) if (i.keyword === 'ENV') Object.assign(env, keyValues(i.args))
  const raNames = Object.keys(env).filter((k) => k.startsWith('RA_'))
  t.ok(raNames.length > 0, 'the image sets RA_* defaults')
  for (const name of raNames) t.ok(KNOWN.includes(name), `${name} is a key of ConfigSchema`)
  t.equal(env['NODE_ENV'], 'production')

  const config = loadConfig(Object.fromEntries(raNames.map((k) => [k, env[k] as string])))
  t.equal(config.host, '0.0.0.0')
  t.equal(config.port, 8080)

  const volumes = runtime.filter((i) => i.keyword === 'VOLUME').flatMap((i) => {
    const a = i.args.trim()
    return a.startsWith('[') ? JSON.parse(a) as string[] : a.split(' ')
  })
  t.ok(volumes.includes('/data'), 'VOLUME /data')
  t.ok(isInside('/data', config.databaseFile), `${config.databaseFile} is inside /data`)
})

t.test('.dockerignore keeps local dependencies, build output and databases out of the build context', async (t) => {
  const patterns = readProjectFile('.dockerignore').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  for (const p of ['node_modules', 'dist', 'data', '.tap', 'coverage', '.git']) t.ok(patterns.includes(p), `ignores ${p}`)
  t.ok(patterns.some((p) => /(^|\/)\*\.sqlite\*?$/.test(p)), 'ignores SQLite files')
})
