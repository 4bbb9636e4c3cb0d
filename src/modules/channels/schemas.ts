import { Type, type Static } from 'typebox'
import { NullableDateTime, errorResponses } from '../../schemas/common.js'

const ChannelType = Type.Union([Type.Literal('telegram'), Type.Literal('whatsapp'), Type.Literal('resend')])

export const ChannelView = Type.Object(
  {
    type: ChannelType,
    configured: Type.Boolean(),
    masked: Type.Record(Type.String(), Type.String(), { description: 'Each field as "••••" and its last four characters; never the value' }),
    updatedAt: NullableDateTime,
  },
  { $id: 'Channel' },
)
export type ChannelViewT = Static<typeof ChannelView>

export const ChannelParams = Type.Object({ type: ChannelType }, { additionalProperties: false })

// Every field any channel takes; which ones a type needs, and their shapes, are checked per
// type (service.ts), so that a 400 names the field without echoing what was sent.
const Field = Type.String({ minLength: 1, maxLength: 1000 })
export const ChannelBody = Type.Object(
  {
    botToken: Type.Optional(Field),
    accessToken: Type.Optional(Field),
    phoneNumberId: Type.Optional(Field),
    apiKey: Type.Optional(Field),
    from: Type.Optional(Field),
  },
  {
    additionalProperties: false,
    description: 'telegram: {botToken}; whatsapp: {accessToken, phoneNumberId}; resend: {apiKey, from}',
  },
)

const writeErrors = errorResponses(400, 401, 402, 403, 404, 409, 415, 429)

export const schemas = {
  list: { tags: ['channels'], response: { 200: Type.Object({ channels: Type.Array(ChannelView) }), ...errorResponses(400, 401, 403) } },
  put: { tags: ['channels'], params: ChannelParams, body: ChannelBody, response: { 200: Type.Object({ channel: ChannelView }), ...writeErrors } },
  remove: { tags: ['channels'], params: ChannelParams, response: { 204: Type.Null(), ...writeErrors } },
}
