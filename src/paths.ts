// Where the project's files are, whether this module runs as TypeScript from src/ (tsx, tests)
// or compiled from dist/src/ (npm run build, the production image): the root is the nearest
// folder above with a package.json, and migrations/, sql/ and the data files live under it.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}

export const ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)))

/** The built web console (`npm run build:web`), served at /. */
export const CONSOLE_DIR = path.join(ROOT, 'web', 'dist')
