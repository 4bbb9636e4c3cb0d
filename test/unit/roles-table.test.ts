// The README's and docs/api.md's tables of what each built-in role may do are the catalogue's
// (src/rbac/permissions.ts), row for row: a permission added to a role, or to the catalogue,
// without its table fails here rather than leaving the documentation behind.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { ROOT } from '../../src/paths.js'
import { BUILT_IN_ROLES, BUILT_IN_ROLE_NAMES, PERMISSION_NAMES } from '../../src/rbac/permissions.js'

/**
 * The Markdown table whose header row is `| permission | owner | admin | manager | agent |`, as
 * {permission: roles}; a row names its permission in backticks, perhaps with a note after it.
 */
function rolesTable(file: string): Map<string, string[]> {
  const lines = readFileSync(path.join(ROOT, file), 'utf8').split('\n')
  const header = `| permission | ${BUILT_IN_ROLE_NAMES.join(' | ')} |`
  const start = lines.findIndex((l) => l.trim() === header)
  if (start < 0) throw new Error(`${file}: no table headed ${header}`)
  const table = new Map<string, string[]>()
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    const cells = line.split('|').slice(1, -1).map((c) => c.trim())
    table.set(/`([^`]+)`/.exec(cells[0]!)?.[1] ?? cells[0]!, BUILT_IN_ROLE_NAMES.filter((_, i) => cells[i + 1] !== ''))
  }
  return table
}

const catalogue = new Map(PERMISSION_NAMES.map((p) => [p, BUILT_IN_ROLE_NAMES.filter((r) => (BUILT_IN_ROLES[r] as readonly string[]).includes(p))]))

for (const file of ['README.md', 'docs/api.md']) {
  t.test(`${file}: the built-in roles table is the catalogue's`, async (t) => {
    const table = rolesTable(file)
    t.same([...table.keys()].sort(), [...catalogue.keys()].sort(), 'every permission, no other')
    for (const [permission, roles] of catalogue) t.same(table.get(permission), roles, permission)
  })
}
