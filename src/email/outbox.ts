// The transactional outbox. enqueueEmail writes the email in the caller's request transaction,
// so it is sent exactly when the action that caused it commits. The body is sealed with the
// envelope key ring (it may carry a single-use link); the row id is the associated data.
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

export async function enqueueEmail(db: Db, keys: KeyRing, message: EmailMessage): Promise<string> {
  const id = randomUUID()
  const body = JSON.stringify({ subject: message.subject, text: message.text, html: message.html })
  await db.insert(emailOutbox).values({
    id,
    toAddress: message.to,
    template: message.template,
    bodyEncrypted: encrypt(keys, body, outboxAad(id)),
  })
  return id
}
