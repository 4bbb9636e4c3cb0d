// Applies migrations/ (drizzle-kit output, ordered, never edited once landed), then every file
// in sql/ (hand-written and re-runnable: roles, the context, then one file per table), then the
// permission catalogue and the built-in roles (src/rbac/permissions.ts), as the schema owner. An advisory lock lets several instances start at once without racing.
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import pg from 'pg'
import { drizzle } from 'drizzle-orm/node-postgres'
import { migrate as drizzleMigrate } from 'drizzle-orm/node-postgres/migrator'
import { ROOT } from '../paths.js'
import { BUILT_IN_ROLES, PERMISSIONS } from '../rbac/permissions.js'

export const MIGRATIONS_DIR = path.join(ROOT, 'migrations')
export const SQL_DIR = path.join(ROOT, 'sql')

export interface MigrateOptions {
  /** Owner connection string (DATABASE_URL). */
  ownerUrl: string
  /** The runtime login to make a member of app_runtime. */
  runtimeLogin: string
  log?: (message: string) => void
}

export function roleFromUrl(url: string): string {
  const user = decodeURIComponent(new URL(url).username)
  if (!user) throw new Error('the database URL names no user')
  return user
}

export async function migrate({ ownerUrl, runtimeLogin, log = () => {} }: MigrateOptions): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl })
  await client.connect()
  try {
    await client.query(`select pg_advisory_lock(hashtext('gatehouse.migrate'))`)
    await drizzleMigrate(drizzle(client), { migrationsFolder: MIGRATIONS_DIR })
    log('migrations applied')
    await client.query(`select set_config('gatehouse.runtime_login', $1, false)`, [runtimeLogin])
    const files = (await readdir(SQL_DIR)).filter((f) => f.endsWith('.sql')).sort()
    for (const file of files) {
      // One simple-protocol query per file: PostgreSQL runs it as one implicit transaction,
      // so a file applies whole or not at all.
      try {
        await client.query(await readFile(path.join(SQL_DIR, file), 'utf8'))
      } catch (err) {
        throw new Error(`sql/${file}: ${(err as Error).message}`, { cause: err })
      }
    }
    log(`sql/ applied (${files.length} files)`)
    // The database's own role checks (sql/130) read the same catalogue as the HTTP gate.
    await client.query('select app.sync_role_permissions($1::jsonb, $2::jsonb)', [JSON.stringify(PERMISSIONS), JSON.stringify(BUILT_IN_ROLES)])
  } finally {
    await client.query(`select pg_advisory_unlock(hashtext('gatehouse.migrate'))`).catch(() => {})
    await client.end()
  }
}
