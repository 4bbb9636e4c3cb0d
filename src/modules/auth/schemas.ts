import { Type, type Static } from 'typebox'
import { Email, Name, Uuid, DateTime, IdParams, Nullable, errorResponses } from '../../schemas/common.js'

export const User = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    name: Type.String(),
    emailVerified: Type.Boolean(),
    mfaEnabled: Type.Boolean(),
    isPlatformAdmin: Type.Boolean(),
  },
  { $id: 'User' },
)
export type UserT = Static<typeof User>

// Length rules are checked by the service (422 weak_password, API.md), not the schema (400).
export const Password = Type.String({ maxLength: 4096 })

export const RegisterBody = Type.Object({ email: Email, password: Password, name: Name }, { additionalProperties: false })
export const LoginBody = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 4096 }) },
  { additionalProperties: false },
)
export const TokenBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false })

export const UserReply = Type.Object({ user: User })
// Sign-in of an account with MFA on: no session yet, only the token for /login/mfa.
export const MfaRequiredReply = Type.Object({ mfaRequired: Type.Literal(true), mfaToken: Type.String() })
export const MfaCode = Type.String({ minLength: 1, maxLength: 32 })
// One of code (TOTP) and backupCode; the service answers 400 validation_failed for both or none.
export const LoginMfaBody = Type.Object(
  { mfaToken: Type.String({ minLength: 1, maxLength: 200 }), code: Type.Optional(MfaCode), backupCode: Type.Optional(MfaCode) },
  { additionalProperties: false },
)
export const Membership = Type.Object({
  workspaceId: Uuid,
  name: Type.String(),
  role: Type.String(),
  status: Type.String(),
})
export const MeReply = Type.Object({ user: User, memberships: Type.Array(Membership) })

export const ForgotPasswordBody = Type.Object({ email: Type.String({ minLength: 1, maxLength: 254 }) }, { additionalProperties: false })
export const ResetPasswordBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 200 }), password: Password },
  { additionalProperties: false },
)
export const SessionInfo = Type.Object({
  id: Uuid,
  createdAt: DateTime,
  lastSeenAt: DateTime,
  ip: Nullable(Type.String()),
  userAgent: Nullable(Type.String()),
  current: Type.Boolean(),
})

export const schemas = {
  register: { tags: ['auth'], body: RegisterBody, response: { 201: UserReply, ...errorResponses(400, 409, 415, 422) } },
  login: { tags: ['auth'], body: LoginBody, response: { 200: Type.Union([UserReply, MfaRequiredReply]), ...errorResponses(400, 401, 415) } },
  loginMfa: { tags: ['auth'], body: LoginMfaBody, response: { 200: UserReply, ...errorResponses(400, 401, 415) } },
  logout: { tags: ['auth'], response: { 204: Type.Null(), ...errorResponses(403) } },
  me: { tags: ['auth'], response: { 200: MeReply, ...errorResponses(401) } },
  verifyEmail: { tags: ['auth'], body: TokenBody, response: { 200: UserReply, ...errorResponses(400, 401, 403, 415) } },
  resendVerification: {
    tags: ['auth'],
    description: 'Optional header X-Workspace-Id: one of the caller\'s workspaces, whose own Resend credential is then the fallback sender',
    response: { 202: Type.Object({ sent: Type.Boolean() }), ...errorResponses(400, 401, 403, 429) },
  },
  // forgot-password answers the same 202 body for every address (no enumeration).
  forgotPassword: { tags: ['auth'], body: ForgotPasswordBody, response: { 202: Type.Object({ accepted: Type.Literal(true) }), ...errorResponses(400, 415) } },
  resetPassword: { tags: ['auth'], body: ResetPasswordBody, response: { 200: Type.Object({ reset: Type.Literal(true) }), ...errorResponses(400, 415, 422) } },
  listSessions: { tags: ['auth'], response: { 200: Type.Object({ sessions: Type.Array(SessionInfo) }), ...errorResponses(401) } },
  revokeSession: { tags: ['auth'], params: IdParams, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) } },
  revokeOtherSessions: { tags: ['auth'], response: { 204: Type.Null(), ...errorResponses(401, 403) } },
}

export const SessionTimes = Type.Object({ createdAt: DateTime })
