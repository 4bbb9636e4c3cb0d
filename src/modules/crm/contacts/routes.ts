// /api/crm/contacts. Every route runs the whole gate chain; another tenant's contact id answers
// 404 (it is not visible under RLS), never 403. The one-statement routes send their statement
// and the COMMIT together (RequestTx.commitWith): two round trips in all, the first being BEGIN
// with app.begin_request.
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
    const after = request.query.cursor ? decodeCursor(request.query.cursor) : undefined
    const tx = request.tx!
    const rows = await tx.commitWith(q.listContacts(tx.db, request.workspace!.id, { limit: limit + 1, q: request.query.q?.trim() || undefined, after }))
    const page = rows.slice(0, limit)
    return { contacts: page.map(toContact), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!) : null }
  })

  app.post('/', { schema: schemas.create, config: { access, permission: 'contacts:create' } }, async (request, reply) => {
    const { name, email, phone, departmentId, ownerId } = request.body
    const userId = request.principal!.userId
    const tx = request.tx!
    try {
      const row = await tx.commitWith(q.insertContact(tx.db, {
        workspaceId: request.workspace!.id,
        name: name.trim(),
        email: email ?? null,
        phone: phone ?? null,
        departmentId: departmentId ?? null,
        ownerId: ownerId === undefined ? userId : ownerId,
        createdBy: userId,
      }))
      reply.code(201)
      return { contact: toContact(row) }
    } catch (err) {
      if (ownerNotMember(err)) throw new AppError('validation_failed', 'body.ownerId must be a member of this workspace')
      throw err
    }
  })

  app.get('/:id', { schema: schemas.get, config: { access, permission: 'contacts:read' } }, async (request) => {
    const tx = request.tx!
    const row = await tx.commitWith(q.findContact(tx.db, request.workspace!.id, request.params.id))
    if (!row) throw notFound(NOT_FOUND)
    return { contact: toContact(row) }
  })

  app.patch('/:id', { schema: schemas.update, config: { access, permission: 'contacts:update' } }, async (request) => {
    const { name, ...rest } = request.body
    const tx = request.tx!
    try {
      const row = await tx.commitWith(q.updateContact(tx.db, request.workspace!.id, request.params.id, {
        ...rest,
        ...(name !== undefined ? { name: name.trim() } : {}),
      }))
      if (!row) throw notFound(NOT_FOUND)
      return { contact: toContact(row) }
    } catch (err) {
      if (ownerNotMember(err)) throw new AppError('validation_failed', 'body.ownerId must be a member of this workspace')
      throw err
    }
  })

  app.delete('/:id', { schema: schemas.remove, config: { access, permission: 'contacts:delete' } }, async (request, reply) => {
    const tx = request.tx!
    if (!(await tx.commitWith(q.softDeleteContact(tx.db, request.workspace!.id, request.params.id)))) throw notFound(NOT_FOUND)
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
