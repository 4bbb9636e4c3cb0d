// Sending: the official Resend SDK (RESEND_BASE_URL points it at another host, e.g. the fake
// Resend API the tests run on loopback). With no API key outside production, emails go to the
// log instead, links included, so a developer can follow them.
import { Resend } from 'resend'
import type { FastifyBaseLogger } from 'fastify'

export interface OutgoingEmail {
  id: string
  from: string
  to: string
  subject: string
  text: string
  html: string
}

export interface EmailTransport {
  send(email: OutgoingEmail): Promise<{ providerId: string }>
}

export class ResendTransport implements EmailTransport {
  private readonly client: Resend
  constructor(apiKey: string, baseUrl?: string) {
    this.client = new Resend(apiKey, baseUrl ? { baseUrl: baseUrl.replace(/\/+$/, '') } : undefined)
  }

  async send(email: OutgoingEmail): Promise<{ providerId: string }> {
    const { data, error } = await this.client.emails.send(
      { from: email.from, to: email.to, subject: email.subject, text: email.text, html: email.html },
      // The outbox id makes a retry after a crash between send and commit a no-op at Resend.
      { idempotencyKey: `outbox-${email.id}` },
    )
    if (error || !data) throw new Error(`Resend: ${error?.message ?? 'no data'}`)
    return { providerId: data.id }
  }
}

export class LogTransport implements EmailTransport {
  constructor(private readonly log: FastifyBaseLogger) {}
  async send(email: OutgoingEmail): Promise<{ providerId: string }> {
    this.log.info({ email: { to: email.to, subject: email.subject, text: email.text } }, 'email (no RESEND_API_KEY: logged, not sent)')
    return { providerId: `log-${email.id}` }
  }
}
