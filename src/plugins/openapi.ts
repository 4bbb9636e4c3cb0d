// The OpenAPI 3 document, generated from the route schemas (never written by hand), at
// /docs/json, with Swagger UI at /docs.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { sessionCookieName } from './identity.js'

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
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  },
  { name: 'openapi' },
)
