import { Type, type Static } from 'typebox'
import { NullableDateTime, errorResponses } from '../../schemas/common.js'

// The provider's event, once its signature verified (src/modules/billing/routes.ts parses the raw
// body itself). Only what every event has is required: an event of another type, or a
// subscription without the fields used here, is acknowledged and recorded, not refused.
export const WebhookEvent = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 255, description: 'The provider\'s event id: applied once, replays are acknowledged and ignored' }),
    type: Type.String({ minLength: 1, maxLength: 255, description: 'customer.subscription.created, .updated or .deleted; any other type is acknowledged and recorded' }),
    data: Type.Optional(Type.Object({
      object: Type.Optional(Type.Unknown({ description: 'The subscription: metadata.workspaceId, status, current_period_end (unix seconds)' })),
    })),
  },
  { description: 'A Stripe-format event, signed with Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.raw body">' },
)
export type WebhookEventT = Static<typeof WebhookEvent>

export const WebhookAnswer = Type.Object({
  received: Type.Literal(true),
  outcome: Type.Union([Type.Literal('applied'), Type.Literal('unchanged'), Type.Literal('replayed'), Type.Literal('ignored'), Type.Literal('unknown_workspace')], {
    description: 'What the event did: applied (the workspace changed), unchanged, replayed (an event id seen before), ignored (another type), unknown_workspace',
  }),
})

export const Billing = Type.Object({
  status: Type.String({ description: 'none, trialing, active, past_due, canceled or unpaid' }),
  trialEndsAt: NullableDateTime,
  currentPeriodEnd: NullableDateTime,
  graceEndsAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'past_due only: writes are allowed until then (7 days from when the subscription went past_due)',
  }),
})
export type BillingT = Static<typeof Billing>

export const schemas = {
  webhook: {
    tags: ['billing'],
    body: WebhookEvent,
    response: { 200: WebhookAnswer, ...errorResponses(400, 413, 415, 429, 503) },
  },
  current: { tags: ['billing'], response: { 200: Billing, ...errorResponses(400, 401, 403) } },
}
