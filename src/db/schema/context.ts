// The sealed request context (sql/020_context.sql). One row per database backend, stamped with
// the transaction that wrote it: the policies' helper functions read the row only while its
// stamp is the current transaction's id, so a row left by an earlier transaction on the same
// pooled connection is no context at all. Only SECURITY DEFINER functions write it, after
// verifying who is asking (a session token, a password proof, the outbox worker's key); the
// runtime role may read its own backend's row and nothing else. UNLOGGED in the migration: a
// context lives for one transaction, so it skips the WAL and is simply gone after a crash.
import { sql } from 'drizzle-orm'
import { check, customType, integer, pgTable, text, uuid } from 'drizzle-orm/pg-core'
import { bytea } from './users.js'

/** PostgreSQL's 64-bit transaction id (pg_current_xact_id()), which never wraps around. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' })

export const requestContexts = pgTable(
  'request_contexts',
  {
    /** pg_backend_pid() of the connection the context belongs to. */
    pid: integer('pid').primaryKey(),
    /** pg_current_xact_id() of the transaction that sealed it. */
    xact: xid8('xact').notNull(),
    /** 'request': a client request (user and session when it carried a live one); 'worker': the outbox worker; 'maintenance': the schema owner's key rotation (sql/200). */
    kind: text('kind').notNull(),
    userId: uuid('user_id'),
    sessionId: uuid('session_id'),
    workspaceId: uuid('workspace_id'),
    /** The API token a request authenticated with (integrations; none yet). */
    tokenId: uuid('token_id'),
    /** The user an administrator acts for (support access; none yet). */
    actingAsUserId: uuid('acting_as_user_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    requestId: text('request_id'),
    /** A member's request: their role's permissions, which contacts they see, and (scope
     * 'department') their department and every one below it; resolved by app.begin_request. */
    permissions: text('permissions').array(),
    contactsScope: text('contacts_scope'),
    departmentIds: uuid('department_ids').array(),
  },
  () => [
    check('request_contexts_kind_is_known', sql`kind in ('request', 'worker', 'maintenance')`),
  ],
)

// Secrets the database generates for itself and never hands to the runtime: the salt key of the
// decoy sign-in settings for unknown addresses, and the outbox worker's key (which the service
// reads once at start-up through the schema owner).
export const databaseSecrets = pgTable(
  'database_secrets',
  {
    name: text('name').primaryKey(),
    secret: bytea('secret').notNull(),
  },
  (t) => [check('database_secrets_secret_is_long', sql`length(${t.secret}) >= 32`)],
)
