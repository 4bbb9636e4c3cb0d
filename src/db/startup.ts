// What the service asks of the schema owner at start-up, after the migrations, before it closes
// that connection for good: the platform administrators from PLATFORM_ADMIN_EMAILS (each grant
// and removal audited in the database, sql/120), and the outbox worker's key, which the
// database generated for itself (sql/020) and which the worker presents with every drain
// (app.begin_worker): the runtime login never learns it. Likewise the billing key (sql/220),
// which the billing webhook presents to app.apply_billing_event.
import pg from 'pg'
import type { KeyRing } from '../crypto/envelope.js'
import { assertRingHolds, keyIdsInUse } from './key-rotation.js'

export interface ServiceKeys {
  /** The outbox worker's key (app.begin_worker). */
  workerKey: Buffer
  /** The billing webhook's key (app.apply_billing_event, sql/220). */
  billingKey: Buffer
}

export interface SyncOptions {
  ownerUrl: string
  platformAdminEmails: Iterable<string>
  /** The service's ENCRYPTION_KEYS: start-up fails, naming it, if a key still in use is missing. */
  keyRing?: KeyRing
  log?: (message: string) => void
}

export async function syncWithDatabase({ ownerUrl, platformAdminEmails, keyRing, log = () => {} }: SyncOptions): Promise<ServiceKeys> {
  const client = new pg.Client({ connectionString: ownerUrl, application_name: 'gatehouse-startup' })
  await client.connect()
  try {
    if (keyRing) assertRingHolds(keyRing, await keyIdsInUse(client))
    const { rows: changes } = await client.query<{ change: string; email: string }>(
      'select change, email from app.sync_platform_admins($1::text[])',
      [[...platformAdminEmails]],
    )
    for (const { change, email } of changes) log(`platform administrator ${email}: ${change}`)
    const { rows } = await client.query<{ secret: Buffer }>(`select secret from database_secrets where name = 'outbox_worker'`)
    if (!rows[0]) throw new Error('the database has no outbox worker key: run the migrations')
    const billing = await client.query<{ secret: Buffer }>(`select secret from database_secrets where name = 'billing_webhook'`)
    if (!billing.rows[0]) throw new Error('the database has no billing key: run the migrations')
    return { workerKey: rows[0].secret, billingKey: billing.rows[0].secret }
  } finally {
    await client.end()
  }
}
