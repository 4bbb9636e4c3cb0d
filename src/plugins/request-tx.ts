// The request transaction, whole, in this one file: A 2XX MEANS COMMITTED.
//
// Every route that declares `access` runs in one database transaction (invariants 3 and 4):
//
//   preHandler      opens it (BEGIN + app.begin_request in one round trip, src/db/request-tx.ts)
//                   with the credentials plugins/identity.ts read, after the body, params and
//                   headers were validated: a 400 costs no connection (nor does a request with
//                   no session token on a route that needs one: plugins/identity.ts answers 401).
//   handler         every such route is made by routes() below, whose wrapper gives the handler
//                   its typed context and COMMITs when the handler returns, before the payload
//                   is serialised and sent. A COMMIT that fails answers 503, never a 2xx.
//   onError         any error, from a hook or the handler, rolls back before the error handler
//                   answers.
//   onSend          the guard: a reply below 400 whose transaction did not commit is a bug (a
//                   hook answering on its own, a handler made without routes()): it is rolled
//                   back and answered 500. Any transaction still open on another reply rolls
//                   back here.
//   onResponse,     whatever happened (a client gone mid-request included), the transaction has
//   onRequestAbort  ended and its connection is back in the pool, or destroyed if it is not idle.
//
// An /api route without `access` does not start, nor does a route with `access` whose handler
// did not come from routes(): neither could keep the promise above.
import fp from 'fastify-plugin'
import type {
  FastifyBaseLogger,
  FastifyContextConfig,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteGenericInterface,
  RouteOptions,
} from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Static, TSchema } from 'typebox'
import { AppError } from '../errors.js'
import { beginRequest, cleanMetadata, METADATA_MAX } from '../db/request-tx.js'
import type { Access, Ctx, CtxFor, RequestMeta } from '../context.js'
import type { Permission } from '../rbac/permissions.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; set by routes(), never by hand. */
    access?: Access
  }
  interface FastifyRequest {
    /** The handler's context, once the transaction is open; null before and without one. */
    ctx: Ctx | null
  }
  interface FastifyInstance {
    /** Every route made with routes(), in registration order. */
    routeTable: readonly RouteEntry[]
  }
}

/** Who is asking, as sessions and audit rows record it (cleaned and capped). */
export function requestMetadata(request: FastifyRequest): RequestMeta {
  return {
    ip: cleanMetadata(request.ip, METADATA_MAX.ip),
    userAgent: cleanMetadata(request.headers['user-agent'], METADATA_MAX.userAgent),
    requestId: cleanMetadata(request.id, METADATA_MAX.requestId),
  }
}

type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>
type Request<S extends FastifySchema> = FastifyRequest<RouteGenericInterface, RawServerDefault, RawRequestDefaultExpression, S, TypeBoxTypeProvider>
/** What the route's response schemas allow the handler to return. */
type ReplyOf<S> = S extends { response: infer R } ? { [K in keyof R]: R[K] extends TSchema ? Static<R[K]> : unknown }[keyof R] | void : unknown

export type Handler<A extends Access, S extends FastifySchema> = (ctx: CtxFor<A>, request: Request<S>, reply: FastifyReply) => Promise<ReplyOf<S>>

export interface RouteSpec<S extends FastifySchema> {
  schema: S
  /** The gate chain's settings (permission, anyState) and the rate limits; `access` is the builder's. */
  config?: Omit<FastifyContextConfig, 'access'>
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

// The handlers routes() made: the only ones a route with `access` may have.
const committing = new WeakSet<object>()

/**
 * Routes for one kind of caller: `routes(app, 'workspace').get(url, { schema, config }, handler)`.
 * The handler receives the context `access` guarantees (a principal on 'user', 'verified' and
 * 'admin' routes, a workspace too on 'workspace' routes), the request and the reply; what it
 * returns is the payload, sent only once the transaction has committed.
 */
export function routes<A extends Access>(app: App, access: A) {
  const add = (method: Method) =>
    <S extends FastifySchema>(url: string, spec: RouteSpec<S>, handler: Handler<A, S>): void => {
      const run = async (request: FastifyRequest, reply: FastifyReply) => {
        const ctx = request.ctx
        // The gate chain guarantees these; a route that reached here without is a wiring bug.
        if (!ctx || (access !== 'public' && !ctx.principal) || (access === 'workspace' && !ctx.workspace)) {
          throw new Error(`${method} ${url}: the handler ran without the context its access (${access}) guarantees`)
        }
        const payload = await handler(ctx as CtxFor<A>, request as Request<S>, reply)
        await ctx.tx.commit()
        return payload
      }
      committing.add(run)
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- not unnecessary: without it app.route infers the schema type S and rejects `run` (tsc TS2322)
      app.route({ method, url, schema: spec.schema as FastifySchema, config: { ...spec.config, access }, handler: run })
    }
  return { get: add('GET'), post: add('POST'), put: add('PUT'), patch: add('PATCH'), delete: add('DELETE') }
}

/** A route made with routes(): what the gate chain requires of it (the permission matrix test reads these). */
export interface RouteEntry {
  method: string
  url: string
  access: Access
  permission?: Permission | readonly Permission[]
}

export default fp(
  async (app) => {
    app.decorateRequest('ctx', null)
    const table: RouteEntry[] = []
    app.decorate('routeTable', table)

    app.addHook('onRoute', (route: RouteOptions) => {
      const access = route.config?.access
      if (!access) {
        if (route.url.startsWith('/api/')) throw new Error(`${String(route.method)} ${route.url} declares no access: make it with routes()`)
        return
      }
      if (!committing.has(route.handler)) throw new Error(`${String(route.method)} ${route.url} declares access but was not made with routes()`)
      for (const method of [route.method].flat()) {
        if (method !== 'HEAD') table.push({ method, url: route.url, access, permission: route.config?.permission })
      }
    })

    app.addHook('preHandler', async (request) => {
      const access = request.routeOptions.config.access
      const credentials = request.credentials
      if (!access || !credentials) return
      const meta = requestMetadata(request)
      const { tx, principal, workspace, now } = await beginRequest(app.pools.runtime, {
        tokenHash: credentials.tokenHash ?? undefined,
        apiTokenHash: credentials.apiTokenHash ?? undefined,
        workspaceId: credentials.workspaceId ?? undefined,
        ...meta,
      })
      request.ctx = { db: tx.db, tx, now, principal, workspace, meta, log: request.log, config: app.config, clock: app.clock }
    })

    app.addHook('onError', async (request) => {
      await request.ctx?.tx.rollback()
    })

    app.addHook('onSend', async (request, reply, payload) => {
      const tx = request.ctx?.tx
      if (!tx || tx.committed) return payload
      await tx.rollback()
      if (reply.statusCode < 400) throw new AppError('internal', `${reply.statusCode} without a committed transaction`)
      return payload
    })

    const finish = async (request: FastifyRequest) => {
      await request.ctx?.tx.rollback()
    }
    app.addHook('onResponse', finish)
    app.addHook('onRequestAbort', finish)
  },
  { name: 'request-tx', dependencies: ['errors', 'identity'] },
)
