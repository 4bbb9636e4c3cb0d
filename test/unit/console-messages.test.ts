// The console's sentences for the API's error codes (web/src/api/errors.ts): one for every code
// the service can answer (src/errors.ts), so no screen ever falls back to a raw code or status,
// and the sentence a screen shows is the detailed one only where the service's message is meant
// for people (the field, the permission, the rule), never for a 5xx.
import t from 'tap'
import { ERRORS } from '../../src/errors.js'
import { ApiFailure, MESSAGES, messageFor } from '../../web/src/api/errors.js'

t.test('every error code the service answers has a sentence', async (t) => {
  for (const code of Object.keys(ERRORS)) {
    t.ok(MESSAGES[code], `${code} has a message`)
    t.notMatch(MESSAGES[code] ?? '', /\b[45]\d\d\b/, `${code}: no status number in the sentence`)
  }
  t.ok(MESSAGES.network, 'and the service being unreachable')
})

t.test('messageFor: the mapped sentence, plus the detail only for codes whose message is for people', async (t) => {
  t.equal(messageFor(new ApiFailure(401, 'invalid_credentials', 'Wrong email or password')), MESSAGES.invalid_credentials)
  t.equal(messageFor(new ApiFailure(400, 'validation_failed', "body.email must match format \"email\"")),
    `${MESSAGES.validation_failed} body.email must match format "email".`)
  t.equal(messageFor(new ApiFailure(403, 'forbidden', 'Missing permission contacts:delete')), `${MESSAGES.forbidden} Missing permission contacts:delete.`)
  t.equal(messageFor(new ApiFailure(500, 'internal', 'select * from secrets')), MESSAGES.internal, 'a 5xx never shows its message')
  t.equal(messageFor(new ApiFailure(418, 'teapot', 'whatever')), MESSAGES.internal, 'an unknown code gets the generic sentence')
  t.equal(messageFor(new Error('boom')), MESSAGES.internal, 'a programming error too')
  t.equal(messageFor(new ApiFailure(429, 'rate_limited', 'Too many', 30)), 'Too many attempts. Try again in 30 seconds.')
  t.equal(messageFor(new ApiFailure(429, 'rate_limited', 'Too many', 600)), 'Too many attempts. Try again in 10 minutes.')
})
