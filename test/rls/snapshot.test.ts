// A stolen database snapshot reveals no secret: every row of every table in the database, as
// text (what a dump holds; the embedded PostgreSQL ships no pg_dump, and a dump is the rows'
// text form), contains no channel credential, TOTP secret, backup code, API token, session
// token, single-use link token or password in clear — nor the hex or base64 form of a token.
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, as, enrolMfa, register, sessionToken, tokenFromEmail } from '../helpers/actors.js'

const ctx = await buildTestApp(t)

t.test('no secret in any row of any table', async (t) => {
  const secrets: Record<string, string> = {}
  const { owner, workspaceId } = await activeTenant(ctx)
  secrets.password = owner.password
  secrets.session = sessionToken(ctx, owner.cookie)

  const channels = {
    telegram: { botToken: '123456789:AAsnapshotTelegramBotSecret_Abcdefgh' },
    whatsapp: { accessToken: 'EAAGsnapshotWhatsAppAccessSecret0123456', phoneNumberId: '1065550199' },
    resend: { apiKey: 're_snapshotResendSecret_9876', from: 'Snapshot <snap@example.test>' },
  }
  for (const [type, body] of Object.entries(channels)) {
    const res = await ctx.app.inject({ method: 'PUT', url: `/api/workspace/channels/${type}`, headers: as(owner, workspaceId), payload: body })
    t.equal(res.statusCode, 200, res.body)
  }
  secrets.botToken = channels.telegram.botToken
  secrets.accessToken = channels.whatsapp.accessToken
  secrets.apiKey = channels.resend.apiKey

  const mfa = await enrolMfa(ctx, await register(ctx))
  secrets.totp = mfa.secret
  secrets.backupCode = mfa.backupCodes[0]!

  const token = await ctx.app.inject({ method: 'POST', url: '/api/workspace/api-tokens', headers: as(owner, workspaceId),
    payload: { name: 'Snapshot', scopes: ['contacts:read'] } })
  t.equal(token.statusCode, 201, token.body)
  secrets.apiToken = token.json<{ token: string }>().token
  secrets.apiTokenSecret = secrets.apiToken.split('_').slice(2).join('_')

  const invitee = 'snapshot-invitee@example.test'
  await ctx.app.inject({ method: 'POST', url: '/api/workspace/invites', headers: as(owner, workspaceId), payload: { email: invitee, role: 'agent' } })
  secrets.inviteToken = await tokenFromEmail(ctx, invitee)
  const pending = await register(ctx, { verified: false })
  secrets.verifyToken = await tokenFromEmail(ctx, pending.email)

  const tables = await ctx.sql<{ name: string }>(
    `select format('%I.%I', n.nspname, c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname in ('public', 'app', 'drizzle')`)
  t.ok(tables.length > 20, 'every table')
  let dump = ''
  for (const { name } of tables) {
    const rows = await ctx.sql<{ row: string }>(`select t::text as row from ${name} t`)
    dump += rows.map((r) => r.row).join('\n')
  }
  t.ok(dump.includes(workspaceId), 'the dump holds the data')
  for (const [what, secret] of Object.entries(secrets)) {
    const forms = [secret, Buffer.from(secret).toString('hex'), Buffer.from(secret).toString('base64')]
    t.notOk(forms.some((f) => dump.includes(f)), `no ${what} in the snapshot`)
  }
})
