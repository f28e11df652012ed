/**
 * After `stryker run` (npm run mutation): the score of the rule core, split as issue 21 asks — logic mutants
 * (every mutator but StringLiteral: a flipped condition, an operator, an emptied branch) and all mutants — per
 * file and in total, from Stryker's JSON report. Exits 1 when a target is missed: 95 % of logic mutants killed,
 * 90 % of all. A timed-out mutant counts as killed (it changed behaviour enough to hang), as Stryker counts it.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { projectRoot } from '../src/paths.js'

interface Mutant {
  mutatorName: string, status: string, statusReason?: string, location: { start: { line: number, column: number } }, replacement?: string
}
interface Report { files: Record<string, { mutants: Mutant[] }> }

const LOGIC_TARGET = 95
const ALL_TARGET = 90
const DETECTED = new Set(['Killed', 'Timeout'])
const COUNTED = new Set(['Killed', 'Timeout', 'Survived', 'NoCoverage'])

const report = JSON.parse(readFileSync(path.join(projectRoot, 'reports', 'mutation', 'mutation.json'), 'utf8')) as Report
const score = (ms: Mutant[]): { killed: number, total: number, pct: number } => {
  const counted = ms.filter((m) => COUNTED.has(m.status))
  const killed = counted.filter((m) => DETECTED.has(m.status)).length
  return { killed, total: counted.length, pct: counted.length === 0 ? 100 : (100 * killed) / counted.length }
}
const cell = (s: { killed: number, total: number, pct: number }): string => `${s.pct.toFixed(1).padStart(5)} % (${s.killed}/${s.total})`.padEnd(20)

const rows: string[] = []
const all: Mutant[] = []
for (const [file, { mutants }] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
  all.push(...mutants)
  rows.push(`${path.basename(file).padEnd(24)} ${cell(score(mutants.filter((m) => m.mutatorName !== 'StringLiteral')))} ${cell(score(mutants))}`)
}
const logic = score(all.filter((m) => m.mutatorName !== 'StringLiteral'))
const total = score(all)
console.log(`\n${'file'.padEnd(24)} ${'logic mutants'.padEnd(20)} ${'all mutants'.padEnd(20)}`)
for (const r of rows) console.log(r)
console.log(`${'src/domain'.padEnd(24)} ${cell(logic)} ${cell(total)}`)
console.log(`targets: logic ≥ ${LOGIC_TARGET} %, all ≥ ${ALL_TARGET} %`)

const described = (file: string, m: Mutant): string => {
  const replacement = m.replacement === undefined ? '' : ` → ${m.replacement.replace(/\s+/g, ' ').slice(0, 60)}`
  return `  ${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName}${replacement}`
}
const survivors = Object.entries(report.files).flatMap(([file, { mutants }]) =>
  mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage').map((m) => described(file, m)))
if (survivors.length > 0) console.log(`\nsurvivors (${survivors.length}):\n${survivors.join('\n')}`)
// Mutants a `// Stryker disable` comment excludes, because no test could tell them from the code: each with the comment's reason.
const ignored = Object.entries(report.files).flatMap(([file, { mutants }]) =>
  mutants.filter((m) => m.status === 'Ignored').map((m) => `${described(file, m)}\n      ${m.statusReason ?? '(no reason given)'}`))
if (ignored.length > 0) console.log(`\nequivalent, excluded with the reason in the code (${ignored.length}):\n${ignored.join('\n')}`)
process.exitCode = logic.pct >= LOGIC_TARGET && total.pct >= ALL_TARGET ? 0 : 1
