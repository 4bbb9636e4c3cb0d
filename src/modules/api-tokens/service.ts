// API tokens (API.md "API tokens"): an integration's bearer credential for one workspace. The
// rules live in the database (sql/210): api_tokens:manage, scopes from the catalogue and held by
// the creator, an expiry in the future; on every request the scopes count only as far as the
// creator's role holds them then (app.begin_token_request). The checks here come first only to
// answer precisely: an unknown scope is named (400), a scope the caller lacks is named (403).
// The token is shown once, in the answer to its creation; the database keeps its SHA-256.
import { AppError, notFound } from '../../errors.js'
import { hashToken, newApiToken } from '../../crypto/tokens.js'
import { isPermission } from '../../rbac/permissions.js'
import type { WorkspaceCtx } from '../../context.js'
import type { ApiTokenT } from './schemas.js'
import * as q from './queries.js'

const iso = (d: Date | null) => d?.toISOString() ?? null

function toApiToken(row: q.ApiTokenRow): ApiTokenT {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    hint: row.hint,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    expiresAt: iso(row.expiresAt),
    lastUsedAt: iso(row.lastUsedAt),
    revokedAt: iso(row.revokedAt),
  }
}

export async function listApiTokens(ctx: WorkspaceCtx): Promise<ApiTokenT[]> {
  return (await q.listApiTokens(ctx.db)).map(toApiToken)
}

export async function createApiToken(
  ctx: WorkspaceCtx,
  body: { name: string; scopes: string[]; expiresAt?: string },
): Promise<{ token: string; apiToken: ApiTokenT }> {
  const unknown = body.scopes.find((s) => !isPermission(s))
  if (unknown !== undefined) throw new AppError('validation_failed', `body.scopes: unknown permission ${JSON.stringify(unknown)}`)
  // A token never carries more than its creator holds (a token's own request: its scope).
  const lacking = body.scopes.find((s) => !ctx.workspace.permissions.has(s))
  if (lacking !== undefined) {
    throw new AppError('forbidden', ctx.principal.tokenId
      ? `This API token's scope lacks the permission ${lacking}, so a token it makes cannot carry it`
      : `Your role lacks the permission ${lacking}, so a token of yours cannot carry it`)
  }
  const expiresAt = body.expiresAt === undefined ? null : new Date(body.expiresAt)
  // The database's clock, which decides the expiry on every request.
  if (expiresAt && !(expiresAt > ctx.now)) throw new AppError('validation_failed', 'body.expiresAt must be in the future')
  const token = newApiToken(ctx.workspace.id)
  const row = await q.createApiToken(ctx.db, {
    name: body.name,
    scopes: body.scopes,
    tokenHash: hashToken(token),
    hint: token.slice(-4),
    expiresAt,
  })
  return { token, apiToken: toApiToken(row) }
}

export async function revokeApiToken(ctx: WorkspaceCtx, id: string): Promise<void> {
  if (!(await q.revokeApiToken(ctx.db, id))) throw notFound('No such API token')
}
