import { execFile, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { projectRoot } from '../../src/paths.js'

/** Samba's own Registry.pol reader, printing entries as JSON lines: ../shared/interop/pol-dump.py, copied as it is (CI has only the repository). */
export const POL_DUMP = path.join(projectRoot, 'test', 'interop', 'pol-dump.py')

/** The Python that has Samba's module: `python3` on the PATH, else Debian's own (a pyenv or venv python3 may come first). */
let python: string | null | undefined

function sambaPython (): string | null {
  python ??= ['python3', '/usr/bin/python3'].find((candidate) =>
    spawnSync(candidate, ['-c', 'import samba.gp_parse.gp_pol'], { stdio: 'ignore', timeout: 30_000 }).status === 0) ?? null
  return python
}

function sambaMissing (): string | null {
  if (!existsSync(POL_DUMP)) return `Samba's Registry.pol reader script is not at ${POL_DUMP}`
  if (sambaPython() === null) return 'Samba\'s Registry.pol parser is missing: `apt-get install python3-samba`'
  return null
}

/**
 * Why the Samba interop tests skip here (`t.test(name, { skip: noSamba }, …)`), or false. Where
 * RA_REQUIRE_INTEROP=1 (CI) they never skip: a missing reader fails them.
 */
export const noSamba: string | false = process.env['RA_REQUIRE_INTEROP'] === '1' ? false : (sambaMissing() ?? false)

/** One entry as pol-dump.py prints it: numbers for the DWORD and QWORD types, text for the others (UTF-16LE decoded, trailing nulls dropped). */
export interface SambaEntry { key: string, value: string, type: number, data: string | number }

/** The entries of a Registry.pol file as Samba's parser reads them, or `{ refused }` with what it said when it cannot parse the file. */
export async function readWithSamba (file: string): Promise<{ entries: SambaEntry[] } | { refused: string }> {
  const missing = sambaMissing()
  if (missing) throw new Error(`Samba interop tests are required here (RA_REQUIRE_INTEROP=1), but ${missing}`)
  try {
    const { stdout } = await promisify(execFile)(sambaPython()!, [POL_DUMP, file], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 })
    return { entries: stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as SambaEntry) }
  } catch (err) {
    const e = err as { code?: unknown, stderr?: string }
    if (e.code === 2) return { refused: String(e.stderr).trim() }
    throw err
  }
}
