// The OpenAPI 3 document, generated from the route schemas (never written by hand), at
// /docs/json, with Swagger UI at /docs.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { sessionCookieName } from './identity.js'

// What the Swagger UI page needs, and nothing more (it replaces the API's policy on /docs/*): its
// own scripts and styles (the page has no inline script or style: test/api/ops.test.ts checks),
// its logo and the icons of its CSS as data: images, and fetch() of /docs/json and of the routes
// "Try it out" calls, all same-origin. No fonts or images from elsewhere (the swagger-ui default
// allows https: and validator.swagger.io; the validator badge is off), no <base>, no form
// submission, no framing, and no upgrade-insecure-requests, which would break the page on the
// plain-HTTP development server.
const DOCS_CSP = [
  "default-src 'none'",
  "base-uri 'none'",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "script-src 'self'",
  "style-src 'self'",
].join('; ')

export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Gatehouse',
          version: '0.1.0',
          description: 'Security core of a multi-tenant CRM: accounts, workspaces, gates, tenant data under PostgreSQL row-level security.',
        },
        components: {
          securitySchemes: {
            session: { type: 'apiKey', in: 'cookie', name: sessionCookieName(app.config.nodeEnv === 'production') },
            workspace: { type: 'apiKey', in: 'header', name: 'X-Workspace-Id' },
          },
        },
      },
    })
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP })
  },
  { name: 'openapi' },
)
