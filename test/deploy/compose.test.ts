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
 * is checked to be `${NAME:-default}` and its defaults are fed to the real
 * loadConfig; the Dockerfile is read as text.
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
 * Every value in ra's environment is written `${NAME:-default}` with its own
 * name: overridable from the shell or a `.env` file, with the default in the
 * file. Returns the defaults, or throws naming a value in any other form.
 */
function defaultsOf (service: Yaml): Record<string, string> {
  return Object.fromEntries(Object.entries(environmentOf(service)).map(([name, value]) => {
    const m = /^\$\{([A-Z][A-Z0-9_]*):-([^${}]*)\}$/.exec(value)
    if (m === null || m[1] !== name) throw new Error(`${name}: ${JSON.stringify(value)} is not \${${name}:-default}`)
    return [name, m[2]!]
  }))
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

function isInside (dir: string, file: string): boolean {
  const rel = path.posix.relative(dir, path.posix.normalize(file))
  return path.posix.isAbsolute(file) && rel !== '' && !rel.startsWith('..') && !path.posix.isAbsolute(rel)
}

const compose = asObject(parse(readProjectFile('docker-compose.yml')), 'docker-compose.yml')
const services = asObject(compose['services'], 'services')
const ra = asObject(services['ra'], 'services.ra')
const mailpit = asObject(services['mailpit'], 'services.mailpit')

t.test('every value of ra\'s environment is ${ITS_NAME:-default}: set from the shell or .env, with its default in the file', async (t) => {
  t.doesNotThrow(() => defaultsOf(ra))
  t.throws(() => defaultsOf({ environment: { RA_PORT: '8080' } }), /RA_PORT/, 'a fixed value is refused by this check')
  t.throws(() => defaultsOf({ environment: { RA_PORT: '${PORT:-8080}' } }), /RA_PORT/, 'so is another variable\'s name')
})

t.test('ra builds from this folder, publishes 8080, keeps its data in a named volume and starts after mailpit', async (t) => {
  const build = ra['build']
  const context = typeof build === 'string' ? build : asObject(build, 'services.ra.build')['context']
  t.equal(context, '.', 'build context is the project folder')
  t.equal(ra['image'], 'ra-ticket-service:local')

  t.ok(portsOf(ra).some((p) => p.published === '8080' && p.target === '8080'), 'port 8080 is published as 8080')

  const data = volumesOf(ra).find((v) => v.target === '/data')
  t.ok(data, 'a volume is mounted at /data')
  t.ok(data !== undefined && !data.source.startsWith('.') && !data.source.startsWith('/'), 'the /data mount is a named volume, not a bind mount')
  const declared = Object.keys(asObject(compose['volumes'] ?? {}, 'volumes'))
  t.ok(data !== undefined && declared.includes(data.source), `volume ${data?.source} is declared at the top level`)
  t.equal(data?.source, 'ra-data')

  t.ok(dependsOn(ra).includes('mailpit'), 'ra depends on mailpit')
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
  for (const name of ['RA_HOST', 'RA_PORT', 'RA_DATABASE_FILE', 'RA_PUBLIC_BASE_URL', 'RA_LOG_LEVEL', 'RA_SMTP_URL']) {
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
  for (const name of ['migrations', 'package.json', 'node_modules', 'dist']) t.ok(copied(name), `copies ${name} into the image`)

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
