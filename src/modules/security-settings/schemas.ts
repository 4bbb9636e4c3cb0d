import { Type } from 'typebox'
import { errorResponses } from '../../schemas/common.js'
import { MfaCode, Password } from '../auth/schemas.js'

export const ChangePasswordBody = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 4096 }), newPassword: Password },
  { additionalProperties: false },
)
const CodeBody = Type.Object({ code: MfaCode }, { additionalProperties: false })
const PasswordBody = Type.Object({ password: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false })
const DisableBody = Type.Object({ password: Type.String({ minLength: 1, maxLength: 4096 }), code: MfaCode }, { additionalProperties: false })
const BackupCodesReply = Type.Object({ backupCodes: Type.Array(Type.String()) })

export const schemas = {
  status: {
    tags: ['security'],
    response: { 200: Type.Object({ mfaEnabled: Type.Boolean(), backupCodesRemaining: Type.Integer() }), ...errorResponses(401) },
  },
  changePassword: {
    tags: ['security'],
    body: ChangePasswordBody,
    response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 415, 422) },
  },
  mfaSetup: {
    tags: ['security'],
    description: 'Needs the current password: a stolen session cannot enrol its own authenticator',
    body: PasswordBody,
    response: { 200: Type.Object({ secret: Type.String(), otpauthUrl: Type.String() }), ...errorResponses(400, 401, 403, 409, 415) },
  },
  mfaEnable: { tags: ['security'], body: CodeBody, response: { 200: BackupCodesReply, ...errorResponses(400, 401, 403, 409, 415) } },
  mfaDisable: { tags: ['security'], body: DisableBody, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 409, 415) } },
  backupCodes: { tags: ['security'], body: CodeBody, response: { 200: BackupCodesReply, ...errorResponses(400, 401, 403, 409, 415) } },
}
