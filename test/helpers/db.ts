// A fresh database per test file, cloned from the template that `npm test` migrated
// (scripts/test.ts): no test depends on another's data, and files can run in parallel.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { withDatabase } from '../../src/db/embedded.js'

export interface TestDatabase {
  name: string
  /** Schema owner (DATABASE_URL). */
  ownerUrl: string
  /** Runtime login (APP_DATABASE_URL). */
  appUrl: string
  /** Superuser: fixtures that must bypass RLS, and tampering tests. */
  superUrl: string
}

function env(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set: run the tests with \`npm test\`, which starts PostgreSQL`)
  return value
}

interface Teardown {
  teardown(fn: () => unknown): void
}

export async function createTestDatabase(t: Teardown): Promise<TestDatabase> {
  const name = `gh_t_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: env('GATEHOUSE_TEST_SUPER_URL') })
  await admin.connect()
  try {
    await admin.query(`create database ${name} template ${env('GATEHOUSE_TEST_TEMPLATE')} owner gatehouse_owner`)
  } finally {
    await admin.end()
  }
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: env('GATEHOUSE_TEST_SUPER_URL') })
    await c.connect()
    await c.query(`drop database if exists ${name} with (force)`)
    await c.end()
  })
  return {
    name,
    ownerUrl: withDatabase(env('GATEHOUSE_TEST_OWNER_URL'), name),
    appUrl: withDatabase(env('GATEHOUSE_TEST_APP_URL'), name),
    superUrl: withDatabase(env('GATEHOUSE_TEST_SUPER_URL'), name),
  }
}

/** A client that is closed when the test ends. */
export async function connect(t: Teardown, connectionString: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString })
  await client.connect()
  t.teardown(() => client.end())
  return client
}
