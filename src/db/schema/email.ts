// The transactional outbox: an email row is written in the same transaction as the action that
// causes it, so an email is sent if and only if that action committed.
import { sql } from 'drizzle-orm'
import { check, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { workspaces } from './workspaces.js'

export const emailOutbox = pgTable(
  'email_outbox',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    toAddress: text('to_address').notNull(),
    // The workspace the email belongs to (an invitation, say): its own Resend credential is the
    // fallback when the platform's key is missing or fails (src/email/worker.ts).
    // (Not `workspace_id`: the queue is no tenant table, which only the worker reads.)
    fromWorkspaceId: uuid('from_workspace_id').references(() => workspaces.id, { onDelete: 'set null' }),
    // Which Resend key delivered it: 'platform' or 'workspace'.
    sentVia: text('sent_via'),
    template: text('template').notNull(),
    // AES-256-GCM envelope of {subject, text, html}; associated data is the row id. Cleared
    // once delivered, since verification and reset bodies carry single-use secrets.
    bodyEncrypted: text('body_encrypted'),
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lastError: text('last_error'),
    providerMessageId: text('provider_message_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
  },
  (t) => [
    index('email_outbox_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    check('email_outbox_status_is_known', sql`${t.status} in ('pending', 'sent', 'failed')`),
    check('email_outbox_sent_via_is_known', sql`${t.sentVia} in ('platform', 'workspace')`),
    index('email_outbox_from_workspace_id_idx').on(t.fromWorkspaceId),
  ],
)
