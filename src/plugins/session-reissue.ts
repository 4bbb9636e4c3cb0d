// A new session token for a session marked for one (API.md: a new token on a role change of the
// user). app.begin_request reports the mark (sql/130 sets it on every role change), and a handler
// that changed its own caller's role sets it on the principal; the new token goes out with this
// reply, whatever the reply is.
//
// It runs as the reply goes out, after the request transaction has ended (plugins/request-tx.ts
// ends it in an earlier onSend), in a statement of its own: a re-issue must not depend on the
// request's outcome (a rolled-back one would leave the client holding a token that was never
// saved), and the transaction's row lock on the session (the activity stamp) is gone by then.
// Of concurrent requests with the same old token one re-issues; the others find the session
// already replaced and send no cookie, and their old token keeps working for a few seconds as
// the new session (app.begin_request). A failure is logged and leaves the session marked, so the
// next request tries again.
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { RequestMeta } from '../context.js'
import { hashToken, newToken } from '../crypto/tokens.js'
import { setSessionCookie } from './identity.js'

async function reissue(request: FastifyRequest, reply: FastifyReply, oldTokenHash: Buffer, meta: RequestMeta): Promise<void> {
  const token = newToken()
  try {
    const { ip, userAgent, requestId } = meta
    const { rows } = await request.server.pools.runtime.query<{ id: string | null }>(
      'select app.reissue_session($1, $2, $3, $4, $5) as id',
      [oldTokenHash, hashToken(token), ip, userAgent, requestId],
    )
    if (rows[0]?.id) setSessionCookie(reply, token)
  } catch (err) {
    request.log.error({ err }, 'session re-issue failed; the session stays marked for the next request')
  }
}

export default fp(
  async (app) => {
    app.addHook('onSend', async (request, reply, payload) => {
      const ctx = request.ctx
      const oldTokenHash = request.credentials?.tokenHash
      // A handler that wrote the cookie itself (sign-in, sign-out, a password change) has
      // already replaced or dropped this session.
      if (ctx?.principal?.sessionNeedsNewToken && oldTokenHash && !request.sessionCookieWritten) {
        await reissue(request, reply, oldTokenHash, ctx.meta)
      }
      return payload
    })
  },
  { name: 'session-reissue', dependencies: ['identity', 'request-tx'] },
)
