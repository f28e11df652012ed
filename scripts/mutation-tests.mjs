// StrykerJS's command runner calls this once per mutant, in its sandbox (`npm run mutation`, stryker.config.json).
// It runs, in one process, the domain tests that can reach the active mutant: those whose imports lead (through
// src/domain) to the file the mutant is in; all of them for the dry run. It stops at the first failing assertion.
// Plain JavaScript, so that it starts without a TypeScript loader of its own; the tests load through tsx.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const root = process.cwd()
const domainDir = path.join(root, 'src', 'domain')
const testDir = path.join(root, 'test', 'domain')
const read = (file) => readFileSync(file, 'utf8')
const importsOf = (file) => [...read(file).matchAll(/from '([^']+)'/g)].map((m) => m[1])
  .filter((spec) => spec.startsWith('.'))
  .map((spec) => path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'))
  .filter((f) => f.startsWith(domainDir + path.sep))

/** Every src/domain file a test reaches through its imports. */
function reach (testFile) {
  const seen = new Set()
  const todo = importsOf(testFile)
  while (todo.length > 0) {
    const f = todo.pop()
    if (seen.has(f)) continue
    seen.add(f)
    todo.push(...importsOf(f))
  }
  return seen
}

const tests = readdirSync(testDir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => path.join(testDir, f))
const active = process.env.__STRYKER_ACTIVE_MUTANT__
let chosen = tests
if (active !== undefined) {
  // Stryker's instrumented sources name each of their mutants as stryMutAct_9fa48("id").
  const needle = `stryMutAct_9fa48("${active}")`
  const mutated = readdirSync(domainDir).map((f) => path.join(domainDir, f)).find((f) => f.endsWith('.ts') && read(f).includes(needle))
  chosen = mutated === undefined ? tests : tests.filter((t) => reach(t).has(mutated))
}
process.env.TAP_BAIL = '1'
for (const t of chosen) await import(pathToFileURL(t).href)
