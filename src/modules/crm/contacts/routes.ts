// /api/crm/contacts. Every route runs the whole gate chain; another tenant's contact id answers
// 404 (it is not visible under RLS), never 403.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError, notFound } from '../../../errors.js'
import { schemas } from './schemas.js'
import { decodeCursor, encodeCursor, ownerNotMember, toContact } from './service.js'
import * as q from './queries.js'
import { listEntityHistory } from '../../audit/queries.js'
import { toHistoryEntry } from '../../audit/service.js'

const NOT_FOUND = 'No such contact'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const access = 'workspace' as const

  app.get('/', { schema: schemas.list, config: { access, permission: 'contacts:read' } }, async (request) => {
    const limit = request.query.limit ?? 50
    const rows = await q.listContacts(request.tx!.db, request.workspace!.id, {
      limit: limit + 1,
      q: request.query.q?.trim() || undefined,
      after: request.query.cursor ? decodeCursor(request.query.cursor) : undefined,
    })
    const page = rows.slice(0, limit)
    return { contacts: page.map(toContact), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!) : null }
  })

  app.post('/', { schema: schemas.create, config: { access, permission: 'contacts:create' } }, async (request, reply) => {
    const { name, email, phone, departmentId, ownerId } = request.body
    const userId = request.principal!.userId
    try {
      const row = await q.insertContact(request.tx!.db, {
        workspaceId: request.workspace!.id,
        name: name.trim(),
        email: email ?? null,
        phone: phone ?? null,
        departmentId: departmentId ?? null,
        ownerId: ownerId === undefined ? userId : ownerId,
        createdBy: userId,
      })
      reply.code(201)
      return { contact: toContact(row) }
    } catch (err) {
      if (ownerNotMember(err)) throw new AppError('validation_failed', 'body.ownerId must be a member of this workspace')
      throw err
    }
  })

  app.get('/:id', { schema: schemas.get, config: { access, permission: 'contacts:read' } }, async (request) => {
    const row = await q.findContact(request.tx!.db, request.workspace!.id, request.params.id)
    if (!row) throw notFound(NOT_FOUND)
    return { contact: toContact(row) }
  })

  app.patch('/:id', { schema: schemas.update, config: { access, permission: 'contacts:update' } }, async (request) => {
    const { name, ...rest } = request.body
    try {
      const row = await q.updateContact(request.tx!.db, request.workspace!.id, request.params.id, {
        ...rest,
        ...(name !== undefined ? { name: name.trim() } : {}),
      })
      if (!row) throw notFound(NOT_FOUND)
      return { contact: toContact(row) }
    } catch (err) {
      if (ownerNotMember(err)) throw new AppError('validation_failed', 'body.ownerId must be a member of this workspace')
      throw err
    }
  })

  app.delete('/:id', { schema: schemas.remove, config: { access, permission: 'contacts:delete' } }, async (request, reply) => {
    if (!(await q.softDeleteContact(request.tx!.db, request.workspace!.id, request.params.id))) throw notFound(NOT_FOUND)
    reply.code(204)
    return null
  })

  app.post('/:id/restore', { schema: schemas.restore, config: { access, permission: 'contacts:restore' } }, async (request) => {
    const { row, exists } = await q.restoreContact(request.tx!.db, request.workspace!.id, request.params.id)
    if (row) return { contact: toContact(row) }
    if (exists) throw new AppError('conflict', 'The contact is not deleted')
    throw notFound(NOT_FOUND)
  })

  // A soft-deleted contact keeps its history (the delete is part of it). The contact must be
  // visible to the caller first (404 otherwise, as on every contact route): the log's policy is
  // workspace-wide, while the contacts policies are what may narrow which records a member sees.
  app.get('/:id/history', { schema: schemas.history, config: { access, permission: 'contacts:read' } }, async (request) => {
    const db = request.tx!.db
    const id = request.params.id.toLowerCase()
    if (!(await q.contactExists(db, request.workspace!.id, id))) throw notFound(NOT_FOUND)
    const rows = await listEntityHistory(db, request.workspace!.id, 'contact', id)
    return { entries: rows.map(toHistoryEntry) }
  })
}

export default routes
