// The web console (web/, built into web/dist by `npm run build:web`), served at / beside the API:
// its built files as they are, and its index.html for any other GET outside /api, so the console's
// own paths (/verify-email, /settings/security, /admin/workspaces…) open from an emailed link or a
// refresh. The service's own paths are left as they were: under /api, /docs (off in production
// unless DOCS=true) and /.well-known an unknown path is still the JSON 404.
//
// The console's pages get their own Content-Security-Policy in place of the API's (which lets
// nothing load): scripts, styles and fetch() from this origin only, images from here or data: (the
// TOTP QR code), no plugin, no <base>, forms posting only here, no framing. Vite's build has no
// inline script or style (test/browser checks the page runs under this policy).
import path from 'node:path'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fastifyStatic from '@fastify/static'
import { isApiUrl } from './security.js'
import { notFound } from '../errors.js'

export const CONSOLE_CSP = [
  "default-src 'self'",
  "base-uri 'none'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
].join('; ')

/** Paths that belong to the service, never to the console's page. */
function isServicePath(url: string): boolean {
  return isApiUrl(url) || /^\/(docs|\.well-known)(\/|\?|$)/.test(url)
}

/** Whether `dir` holds a built console (its index.html). */
export function consoleBuilt(dir: string): boolean {
  return existsSync(path.join(dir, 'index.html'))
}

export default async function consolePlugin(app: FastifyInstance, opts: { dir: string }) {
  const index = await readFile(path.join(opts.dir, 'index.html'))

  app.addHook('onSend', async (request, reply, payload) => {
    if (!isServicePath(request.url)) reply.header('content-security-policy', CONSOLE_CSP)
    return payload
  })

  // One route per built file (wildcard: false), found when the service starts. Vite names assets
  // by their content's hash, so a browser may keep them for a year; index.html is always
  // revalidated, so a new build reaches every browser at its next load.
  await app.register(fastifyStatic, {
    root: opts.dir,
    wildcard: false,
    index: false,
    serveDotFiles: false,
    setHeaders: (reply: FastifyReply, file: string) => {
      reply.header('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache')
    },
  })

  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    if (isServicePath(request.url)) throw notFound(`Route ${request.method} ${request.url.split('?')[0]} not found`)
    reply.type('text/html; charset=utf-8')
    reply.header('cache-control', 'no-cache')
    return index
  }
  app.get('/', { schema: { hide: true } }, page)
  app.get('/*', { schema: { hide: true } }, page)
}
