// What the service asks of the schema owner at start-up, after the migrations, before it closes
// that connection for good: the platform administrators from PLATFORM_ADMIN_EMAILS (each grant
// and removal audited in the database, sql/120), and the outbox worker's key, which the
// database generated for itself (sql/020) and which the worker presents with every drain
// (app.begin_worker): the runtime login never learns it.
import pg from 'pg'

export interface ServiceKeys {
  /** The outbox worker's key (app.begin_worker). */
  workerKey: Buffer
}

export interface SyncOptions {
  ownerUrl: string
  platformAdminEmails: Iterable<string>
  log?: (message: string) => void
}

export async function syncWithDatabase({ ownerUrl, platformAdminEmails, log = () => {} }: SyncOptions): Promise<ServiceKeys> {
  const client = new pg.Client({ connectionString: ownerUrl, application_name: 'gatehouse-startup' })
  await client.connect()
  try {
    const { rows: changes } = await client.query<{ change: string; email: string }>(
      'select change, email from app.sync_platform_admins($1::text[])',
      [[...platformAdminEmails]],
    )
    for (const { change, email } of changes) log(`platform administrator ${email}: ${change}`)
    const { rows } = await client.query<{ secret: Buffer }>(`select secret from database_secrets where name = 'outbox_worker'`)
    if (!rows[0]) throw new Error('the database has no outbox worker key: run the migrations')
    return { workerKey: rows[0].secret }
  } finally {
    await client.end()
  }
}
