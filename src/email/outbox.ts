// The transactional outbox. enqueueEmail writes the email in the caller's request transaction,
// so it is sent exactly when the action that caused it commits. The body is sealed with the
// envelope key ring (it may carry a single-use link); the row id is the associated data.
//
// A row may also hold a request to *compose* an email later (enqueueComposition): the worker
// runs the template's composer (email/worker.ts), which may decide to send nothing. The request
// path then does the same work whatever the outcome will be — forgot-password uses it so that
// a known and an unknown address cost the same (API.md: same body and timing).
import { randomUUID } from 'node:crypto'
import { encrypt, type KeyRing } from '../crypto/envelope.js'
import { emailOutbox } from '../db/schema/index.js'
import type { Db } from '../db/request-tx.js'

export interface EmailMessage {
  to: string
  template: string
  subject: string
  text: string
  html: string
}

export function outboxAad(id: string): string {
  return `email_outbox:${id}`
}

async function insert(db: Db, keys: KeyRing, to: string, template: string, sealed: object, fromWorkspaceId: string | null = null): Promise<string> {
  const id = randomUUID()
  await db.insert(emailOutbox).values({ id, toAddress: to, template, fromWorkspaceId, bodyEncrypted: encrypt(keys, JSON.stringify(sealed), outboxAad(id)) })
  return id
}

/**
 * Queues an email. `fromWorkspaceId`: the workspace it is sent on behalf of (an invitation),
 * whose own Resend credential is the fallback sender (email/worker.ts); only the request's own
 * workspace may be named (the outbox's insert policy, sql/160).
 */
export async function enqueueEmail(db: Db, keys: KeyRing, message: EmailMessage, fromWorkspaceId: string | null = null): Promise<string> {
  return insert(db, keys, message.to, message.template, { subject: message.subject, text: message.text, html: message.html }, fromWorkspaceId)
}

/** Queues `input` (sealed like a body) for the composer of `template` to turn into an email, or not. */
export async function enqueueComposition(db: Db, keys: KeyRing, to: string, template: string, input: object): Promise<string> {
  return insert(db, keys, to, template, input)
}
