// Error handler: every failure becomes {statusCode, error, code, message} with an API.md code.
// Typed AppErrors render as they are; Fastify's own errors (body, content type, validation) and
// PostgreSQL errors are mapped; anything else is a bug: logged in full, answered as a bare 500
// with no stack, SQL or internal message. (The request transaction has been rolled back by then:
// plugins/request-tx.ts does it in onError, which Fastify runs before this handler.)
import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, ERRORS, type ErrorCode } from '../errors.js'
import { driverError, isUnavailableError } from '../db/request-tx.js'
import { fromRefusal } from '../db/refusals.js'
import { isApiUrl } from './security.js'

function fromFastify(err: FastifyError): AppError | undefined {
  if (err.validation) {
    const first = err.validation[0]
    const where = err.validationContext ?? 'request'
    const field = first?.instancePath ? `${where}${first.instancePath.replaceAll('/', '.')}` : where
    const detail = first?.params && 'missingProperty' in first.params ? ` must have property '${String(first.params.missingProperty)}'`
      : first?.params && 'additionalProperty' in first.params ? ` must not have property '${String(first.params.additionalProperty)}'`
      : ` ${first?.message ?? 'is invalid'}`
    return new AppError('validation_failed', `${field}${detail}`)
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('invalid_json', err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
        ? 'The body is empty but the content type is application/json'
        : 'The body is not valid JSON')
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('unsupported_media_type')
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new AppError('unsupported_media_type')
  }
  if (err instanceof SyntaxError && err.statusCode === 400) return new AppError('invalid_json')
  if (err.statusCode === 429) return new AppError('rate_limited')
  if (err.statusCode === 404) return new AppError('not_found')
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500 && err.code?.startsWith('FST_')) {
    return new AppError('validation_failed', err.message)
  }
  return undefined
}

// PostgreSQL errors that reach here without a handler mapping them.
function fromPostgres(err: { code?: string; constraint?: string; message?: string }): AppError | undefined {
  if (isUnavailableError(err)) return new AppError('unavailable')
  const refusal = fromRefusal(err)
  if (refusal) return refusal
  switch (err.code) {
    case '23505':
      return new AppError('conflict', 'A record with these values already exists')
    case '23503':
      return new AppError('validation_failed', 'A referenced record does not exist')
    case '23514':
    case '22001':
    case '22P02':
    case '22007':
    case '22008':
    case '22003':
    case '22009': // a time zone displacement out of range (a timestamp beyond PostgreSQL's years)
    case '22021': // a byte sequence text cannot hold, e.g. a NUL character in a string
      return new AppError('validation_failed', 'A value is out of range or malformed')
    case '42501': // insufficient privilege or a row-level security check: a gate the HTTP layer missed
      return new AppError('forbidden')
    case '57014': // statement_timeout (STATEMENT_TIMEOUT_MS) or a cancel: the statement was stopped, its transaction rolls back
      return new AppError('unavailable', 'The request took too long and was stopped; nothing was changed. Please retry.')
  }
  return undefined
}

export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err
  const fastify = fromFastify(err as FastifyError)
  if (fastify) return fastify
  const e = driverError(err)
  return typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) || isUnavailableError(e) ? fromPostgres(e!) : undefined
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The API error code this request was answered with, if any (plugins/security-events.ts reads it). */
    errorCode: ErrorCode | null
  }
}

export function sendError(reply: FastifyReply, code: ErrorCode, message: string, headers?: Record<string, string>) {
  const status = ERRORS[code][0]
  reply.request.errorCode = code
  if (headers) reply.headers(headers)
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', code, message })
}

/**
 * Fastify's `frameworkErrors`: a URL the router cannot decode (a broken %-escape) or a path
 * parameter over maxParamLength is refused before a route is chosen, so neither the hooks nor
 * the error handler run, and Fastify would write a body of its own. Answered in the API's shape
 * instead, with the headers of an error answer that the hooks would have set.
 */
export function frameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-content-type-options', 'nosniff')
  if (isApiUrl(request.url)) reply.header('cache-control', 'no-store')
  sendError(reply, 'validation_failed', err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : 'The URL cannot be decoded')
}

/** How much of a too-large body is read and discarded before the 413, at most. */
const DISCARD_LIMIT = { bytes: 16 * 1024 * 1024, ms: 10_000 }

/**
 * Reads what is left of a request's body and throws it away, up to `DISCARD_LIMIT` beyond what
 * the parser read; resolves when the body has ended, the bound is reached or the client is gone.
 *
 * Why: Fastify refuses a body over the limit as soon as it knows — at once for a declared
 * Content-Length, at the limit for a chunked one — and closes the connection after its answer.
 * If the client is still sending then, the server's kernel answers the unread bytes with a reset,
 * and a client that reads only once it has sent everything (Python's http.client, many SDKs), or
 * one whose unread input the reset discards, gets ECONNRESET or EPIPE instead of the 413
 * (RFC 9112 §9.6). Having taken the whole body, the answer arrives. A body beyond the bound still
 * gets its answer at once and the connection closed: no one is owed an endless read.
 */
function discardBody(request: FastifyRequest, bodyLimit: number): Promise<void> {
  const raw = request.raw
  if (raw.complete || raw.readableEnded || raw.destroyed) return Promise.resolve()
  if (Number(request.headers['content-length']) > bodyLimit + DISCARD_LIMIT.bytes) return Promise.resolve()
  return new Promise((resolve) => {
    let read = 0
    const done = () => {
      clearTimeout(timer)
      raw.off('data', onData).off('end', done).off('error', done).off('close', done)
      resolve()
    }
    const onData = (chunk: Buffer) => {
      read += chunk.length
      if (read > DISCARD_LIMIT.bytes) done()
    }
    const timer = setTimeout(done, DISCARD_LIMIT.ms)
    raw.on('data', onData).once('end', done).once('error', done).once('close', done)
    raw.resume()
  })
}

export default fp(
  async (app) => {
    app.decorateRequest('errorCode', null)
    app.setErrorHandler(async (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
      const appError = toAppError(err)
      if (!appError || appError.code === 'internal') {
        request.log.error({ err }, 'unhandled error')
        return sendError(reply, 'internal', ERRORS.internal[1])
      }
      if (appError.statusCode >= 500) request.log.warn({ err: appError.cause ?? err }, appError.message)
      if (appError.code === 'payload_too_large') await discardBody(request, app.config.bodyLimit)
      return sendError(reply, appError.code, appError.message, appError.headers)
    })

    // A handler may have set a cookie (a new session on register or login) before it, or its
    // COMMIT, failed. The transaction rolled back, so that cookie names no session, and it would
    // replace a working one in the browser: an error response carries no Set-Cookie. Runs after
    // @fastify/cookie's onSend (registered earlier), which writes the header.
    app.addHook('onSend', async (_request, reply, payload) => {
      if (reply.statusCode >= 400) reply.removeHeader('set-cookie')
      return payload
    })

    app.setNotFoundHandler(async (request, reply) =>
      sendError(reply, 'not_found', `Route ${request.method} ${request.url.split('?')[0]} not found`),
    )
  },
  { name: 'errors' },
)
