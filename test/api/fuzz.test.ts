// Property-based: every route in the OpenAPI document, called by a signed-in owner of an active
// workspace (and a platform admin) with arbitrary path parameters, query strings, JSON bodies,
// workspace headers and now and then a forged session cookie, answers below 500 and, when it refuses, in the API.md error shape. A new
// route is covered the day it is documented, i.e. the day it is written (every route has a schema).
// FUZZ_RUNS and FUZZ_SEED widen a local hunt (e.g. FUZZ_RUNS=400 FUZZ_SEED=$RANDOM); CI runs the
// fixed seed.
import t from 'tap'
import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { activeTenant, as, platformAdmin } from '../helpers/actors.js'

const ctx = await buildTestApp(t, {
  // High enough that the handlers, not the limiters, answer.
  RATE_LIMIT_REGISTER_IP: '100000/1h',
  RATE_LIMIT_LOGIN_IP: '100000/1h',
  RATE_LIMIT_LOGIN_ACCOUNT: '100000/1h',
  RATE_LIMIT_FORGOT_PASSWORD_IP: '100000/1h',
  RATE_LIMIT_FORGOT_PASSWORD_ACCOUNT: '100000/1h',
  RATE_LIMIT_RESET_PASSWORD_IP: '100000/1h',
  RATE_LIMIT_MFA_VERIFY_IP: '100000/1h',
  RATE_LIMIT_MFA_VERIFY_ACCOUNT: '100000/1h',
  RATE_LIMIT_VERIFY_RESEND: '100000/1h',
  RATE_LIMIT_INVITE_USER: '100000/1h',
  RATE_LIMIT_INVITE_ACCEPT_IP: '100000/1h',
})
const { owner, workspaceId } = await activeTenant(ctx, 'Fuzz Co')
const admin = await platformAdmin(ctx)

const doc = (await ctx.app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, Record<string, unknown>> }>()
// Signing out would end the session the rest of the run depends on; it takes no input anyway.
const SKIP = new Set(['POST /api/auth/logout'])
const routes = Object.entries(doc.paths)
  .flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })))
  .filter((r) => r.path.startsWith('/api/') && !SKIP.has(`${r.method} ${r.path}`))

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.uuid(),
  fc.constantFrom('', ' ', '0', '-1', 'null', '../../etc/passwd', "' or 1=1 --", '%00', 'a'.repeat(5000), '00000000-0000-0000-0000-000000000000'),
)
const json = fc.oneof(
  fc.jsonValue(),
  fc.dictionary(fc.constantFrom('email', 'password', 'name', 'role', 'token', 'code', 'mfaToken', 'backupCode', 'inviteCode', 'reason', 'endsAt', 'ownerId', 'departmentId', 'currentPassword', 'newPassword', 'q'), fc.jsonValue()),
)
const input = fc.record({
  params: fc.array(text, { minLength: 3, maxLength: 3 }),
  query: fc.dictionary(fc.constantFrom('cursor', 'limit', 'q', 'status', 'action', 'actorId', 'entity', 'x'), text, { maxKeys: 3 }),
  body: fc.option(json, { nil: undefined }),
  workspace: fc.oneof(fc.constant(workspaceId), text),
  // Mostly the actor's own session; sometimes a forged or mangled cookie.
  cookie: fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: text.map((v) => `sid=${v}`), weight: 1 }),
})

const ERROR_KEYS = ['code', 'error', 'message', 'statusCode']

for (const route of routes) {
  t.test(`${route.method} ${route.path}`, async (t) => {
    const actor = route.path.startsWith('/api/admin/') ? admin : owner
    let requests = 0
    await fc.assert(
      fc.asyncProperty(input, async ({ params, query, body, workspace, cookie }) => {
        let i = 0
        const url = route.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(params[i++ % params.length]!))
        const opts: InjectOptions = {
          method: route.method,
          url,
          query,
          headers: { ...as(actor), ...(cookie !== undefined ? { cookie } : {}), 'x-workspace-id': workspace },
          ...(body !== undefined && route.method !== 'GET' && route.method !== 'DELETE' ? { payload: body as object } : {}),
        }
        const res = await ctx.app.inject(opts)
        requests++
        if (res.statusCode >= 500) throw new Error(`${route.method} ${url} → ${res.statusCode}: ${res.body}`)
        if (res.statusCode >= 400) {
          const keys = Object.keys(res.json<object>()).sort()
          if (keys.join() !== ERROR_KEYS.join()) throw new Error(`${route.method} ${url} → ${res.statusCode} not in the error shape: ${res.body}`)
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 25), seed: Number(process.env.FUZZ_SEED ?? 20261123) },
    )
    t.equal(requests >= Number(process.env.FUZZ_RUNS ?? 25), true, `${requests} requests, none answered 5xx`)
  })
}

t.test('the fuzzed routes include every resource', async (t) => {
  for (const path of ['/api/crm/contacts/{id}', '/api/workspace/members/{userId}', '/api/workspace/invites', '/api/admin/workspaces/{id}/approve', '/api/auth/login']) {
    t.ok(routes.some((r) => r.path === path), path)
  }
})
