// Email templates. Links carry single-use secrets in a `token` query parameter (API.md).
import type { EmailMessage } from './outbox.js'

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

export function verificationEmail(opts: { to: string; name: string; publicUrl: string; token: string }): EmailMessage {
  const link = `${opts.publicUrl}/verify-email?token=${encodeURIComponent(opts.token)}`
  return {
    to: opts.to,
    template: 'verify_email',
    subject: 'Verify your email address',
    text: `Hello ${opts.name},\n\nConfirm your email address for Gatehouse:\n${link}\n\nThe link works once and expires in 24 hours. If you did not sign up, ignore this email.\n`,
    html: `<p>Hello ${escapeHtml(opts.name)},</p><p>Confirm your email address for Gatehouse:</p><p><a href="${escapeHtml(link)}">Verify my email</a></p><p>The link works once and expires in 24 hours. If you did not sign up, ignore this email.</p>`,
  }
}
