// Email templates. Links carry their single-use secret in the URL fragment (`#token=…`, API.md):
// a browser never sends a fragment to a server, so the secret stays out of access logs, proxies
// and `Referer` headers; the page reads it and POSTs it to the API.
import type { EmailMessage } from './outbox.js'

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

export function verificationEmail(opts: { to: string; name: string; publicUrl: string; token: string }): EmailMessage {
  const link = `${opts.publicUrl}/verify-email#token=${encodeURIComponent(opts.token)}`
  return {
    to: opts.to,
    template: 'verify_email',
    subject: 'Verify your email address',
    text: `Hello ${opts.name},\n\nConfirm your email address for Gatehouse:\n${link}\n\nThe link works once and expires in 24 hours. If you did not sign up, ignore this email.\n`,
    html: `<p>Hello ${escapeHtml(opts.name)},</p><p>Confirm your email address for Gatehouse:</p><p><a href="${escapeHtml(link)}">Verify my email</a></p><p>The link works once and expires in 24 hours. If you did not sign up, ignore this email.</p>`,
  }
}

export function resetPasswordEmail(opts: { to: string; name: string; publicUrl: string; token: string; ttlMinutes: number }): EmailMessage {
  const link = `${opts.publicUrl}/reset-password#token=${encodeURIComponent(opts.token)}`
  const note = `The link works once and expires in ${opts.ttlMinutes} minutes. Resetting signs you out everywhere. If you did not ask for this, ignore this email: your password stays as it is.`
  return {
    to: opts.to,
    template: 'reset_password',
    subject: 'Reset your password',
    text: `Hello ${opts.name},\n\nSomeone (hopefully you) asked to reset your Gatehouse password:\n${link}\n\n${note}\n`,
    html: `<p>Hello ${escapeHtml(opts.name)},</p><p>Someone (hopefully you) asked to reset your Gatehouse password:</p><p><a href="${escapeHtml(link)}">Choose a new password</a></p><p>${escapeHtml(note)}</p>`,
  }
}

export function inviteEmail(opts: {
  to: string
  inviterName: string
  workspaceName: string
  role: string
  publicUrl: string
  token: string
  ttlDays: number
}): EmailMessage {
  const link = `${opts.publicUrl}/accept-invite#token=${encodeURIComponent(opts.token)}`
  const what = `${opts.inviterName} invited you to join ${opts.workspaceName} on Gatehouse as ${/^[aeiou]/.test(opts.role) ? 'an' : 'a'} ${opts.role}.`
  const note = `Sign in (or sign up) with this address, ${opts.to}, then open the link. It works once and expires in ${opts.ttlDays} days. If you do not know ${opts.inviterName}, ignore this email.`
  return {
    to: opts.to,
    template: 'workspace_invite',
    subject: `Join ${opts.workspaceName} on Gatehouse`,
    text: `Hello,\n\n${what}\n${link}\n\n${note}\n`,
    html: `<p>Hello,</p><p>${escapeHtml(what)}</p><p><a href="${escapeHtml(link)}">Accept the invitation</a></p><p>${escapeHtml(note)}</p>`,
  }
}

/** To a user whose second factor a platform administrator removed (the recovery path). */
export function mfaResetEmail(opts: { to: string; name: string; publicUrl: string }): EmailMessage {
  const note = 'If you did not ask for this, reply to this email or contact your administrator at once, and change your password.'
  const what = 'A Gatehouse administrator removed the two-factor authentication of your account at your request, and signed you out everywhere.'
  const next = `Sign in with your password at ${opts.publicUrl} and set up two-factor authentication again in your security settings.`
  return {
    to: opts.to,
    template: 'mfa_reset',
    subject: 'Two-factor authentication was removed from your account',
    text: `Hello ${opts.name},\n\n${what}\n\n${next}\n\n${note}\n`,
    html: `<p>Hello ${escapeHtml(opts.name)},</p><p>${escapeHtml(what)}</p><p>${escapeHtml(next)}</p><p>${escapeHtml(note)}</p>`,
  }
}
