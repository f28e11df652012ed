import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The folder holding package.json, whether running from src/ (tsx) or dist/src/ (compiled). */
export const projectRoot: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url))
    dir = parent
  }
  return dir
})()

/** Each engine's migrations: the same numbers and names, in its own dialect. */
export const migrationsDir = (engine: 'sqlite' | 'postgres'): string => path.join(projectRoot, 'migrations', engine)
