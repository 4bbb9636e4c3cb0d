import { Type } from 'typebox'
import { errorResponses } from '../../schemas/common.js'
import { Password } from '../auth/schemas.js'

export const ChangePasswordBody = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 4096 }), newPassword: Password },
  { additionalProperties: false },
)

export const schemas = {
  changePassword: {
    tags: ['security'],
    body: ChangePasswordBody,
    response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 415, 422) },
  },
}
