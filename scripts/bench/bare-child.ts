// The baseline: a plain Fastify + pg server doing the same work as the contacts routes on a plain
// table with the same columns and rows (bench.contacts, scripts/bench/seed.ts: no row-level
// security, no trigger, no foreign key) — no auth, no gates, no transaction: one autocommit
// statement per request, through a pool of the service's size. It reuses the routes' schemas,
// row mapping and cursor, so that validation and response serialisation cost the same on both
// sides and the ratio isolates everything Gatehouse adds, the audit trail included.
import Fastify from 'fastify'
import pg from 'pg'
import { Type } from 'typebox'
import { validatorCompiler } from '../../src/schemas/validator.js'
import { Uuid } from '../../src/schemas/common.js'
import { CreateContactBody, schemas, type CreateContactBodyT } from '../../src/modules/crm/contacts/schemas.js'
import { encodeCursor, toContact } from '../../src/modules/crm/contacts/service.js'
import type { ContactRow } from '../../src/modules/crm/contacts/queries.js'
import { reportFailure, reportReady, serveParent } from './children.js'

// Every column, camel-cased the way drizzle returns them, so toContact maps the rows unchanged.
const COLUMNS = `workspace_id as "workspaceId", id, name, email, phone, department_id as "departmentId",
  owner_id as "ownerId", created_by as "createdBy", created_at as "createdAt", updated_at as "updatedAt",
  deleted_at as "deletedAt"`

const INSERT = `insert into bench.contacts (workspace_id, name, email, phone, department_id, owner_id, created_by)
  values ($1, $2, $3, $4, $5, $6, $6) returning ${COLUMNS}`

// The gated list's query: live rows of one workspace, newest first, one more than the page to
// know whether there is a next one.
const LIST = `select ${COLUMNS} from bench.contacts where workspace_id = $1 and deleted_at is null
  order by created_at desc, id desc limit $2`

const PAGE = 50

async function main(): Promise<void> {
  const url = process.env.BARE_DATABASE_URL
  if (!url) throw new Error('BARE_DATABASE_URL is not set')
  // The same pool size as the service's runtime pool (src/db/pool.ts).
  const pool = new pg.Pool({ connectionString: url, max: 20, application_name: 'gatehouse-bench-bare' })
  pool.on('error', () => {})
  await pool.query('select 1')

  const app = Fastify({ logger: false })
  app.setValidatorCompiler(validatorCompiler)

  app.post(
    '/bare/contacts',
    {
      schema: {
        querystring: Type.Object({ workspace: Uuid, owner: Uuid }),
        body: CreateContactBody,
        response: { 201: schemas.create.response[201] },
      },
    },
    async (request, reply) => {
      const { workspace, owner } = request.query as { workspace: string; owner: string }
      const body = request.body as CreateContactBodyT
      const { rows } = await pool.query<ContactRow>(INSERT, [
        workspace, body.name.trim(), body.email ?? null, body.phone ?? null, body.departmentId ?? null, owner,
      ])
      reply.code(201)
      return { contact: toContact(rows[0]!) }
    },
  )

  app.get(
    '/bare/contacts',
    {
      schema: {
        querystring: Type.Object({ workspace: Uuid }),
        response: { 200: schemas.list.response[200] },
      },
    },
    async (request) => {
      const { workspace } = request.query as { workspace: string }
      const { rows } = await pool.query<ContactRow>(LIST, [workspace, PAGE + 1])
      const page = rows.slice(0, PAGE)
      return { contacts: page.map(toContact), nextCursor: rows.length > PAGE ? encodeCursor(page[page.length - 1]!) : null }
    },
  )

  await app.listen({ host: '127.0.0.1', port: 0 })
  serveParent({
    async close() {
      await app.close()
      await pool.end()
    },
  })
  reportReady((app.server.address() as { port: number }).port)
}

main().catch(reportFailure)
