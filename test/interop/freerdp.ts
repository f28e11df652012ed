import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { projectRoot } from '../../src/paths.js'

/** The harness over FreeRDP's own invitation-file parser: ../shared/interop/msrc-check.c, copied as it is (CI has only the repository). */
const SOURCE = path.join(projectRoot, 'test', 'interop', 'msrc-check.c')

function freeRdpMissing (): string | null {
  if (!existsSync(SOURCE)) return `the FreeRDP harness is not at ${SOURCE}`
  const pkg = spawnSync('pkg-config', ['--exists', 'freerdp2', 'winpr2'])
  if (pkg.error !== undefined || pkg.status !== 0) return 'FreeRDP\'s development files are missing: `apt-get install freerdp2-dev pkg-config`'
  return null
}

/**
 * Why the FreeRDP interop tests skip here (`t.test(name, { skip: noFreeRdp }, …)`), or false. Where
 * RA_REQUIRE_INTEROP=1 (CI) they never skip: a missing reader fails them.
 */
export const noFreeRdp: string | false = process.env['RA_REQUIRE_INTEROP'] === '1' ? false : (freeRdpMissing() ?? false)

let binary: string | undefined

/** Builds the harness once per process (into a temporary folder named by its source's hash). */
function harness (): string {
  if (binary !== undefined) return binary
  const missing = freeRdpMissing()
  if (missing) throw new Error(`FreeRDP interop tests are required here (RA_REQUIRE_INTEROP=1), but ${missing}`)
  const source = readFileSync(SOURCE)
  const out = path.join(tmpdir(), `ra-msrc-check-${createHash('sha256').update(source).digest('hex').slice(0, 16)}`)
  if (!existsSync(out)) {
    const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'freerdp2', 'winpr2'], { encoding: 'utf8' }).trim().split(/\s+/)
    execFileSync('cc', [SOURCE, ...flags, '-o', `${out}.tmp`])
    execFileSync('mv', [`${out}.tmp`, out])
  }
  binary = out
  return out
}

export interface FreeRdpReading {
  /** What freerdp_assistance_parse_file_buffer returned: 1 accepted, negative refused. */
  rc: number
  populated: boolean
  host: string | null
  port: number | null
  session: string | null
  output: string
}

/** What FreeRDP 2's parser makes of `file`, opened with `password` (or none). */
export function readWithFreeRdp (file: Buffer, password?: string): FreeRdpReading {
  const dir = mkdtempSync(path.join(tmpdir(), 'ra-msrc-'))
  try {
    const at = path.join(dir, 'RAInvitation.msrcincident')
    writeFileSync(at, file)
    const res = spawnSync(harness(), password === undefined ? [at] : [at, password], { encoding: 'utf8' })
    const output = `${res.stdout}${res.stderr}`
    const rc = Number(/parse rc=(-?\d+)/.exec(res.stdout)?.[1] ?? NaN)
    const populate = /populate=(\d) host=(\S+) port=(\d+) session=(\S+)/.exec(res.stdout)
    return {
      rc,
      populated: populate?.[1] === '1',
      host: populate && populate[2] !== '-' ? populate[2]! : null,
      port: populate ? Number(populate[3]) : null,
      session: populate && populate[4] !== '-' ? populate[4]! : null,
      output
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
