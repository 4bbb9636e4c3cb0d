// /api/crm/contacts. Every route runs the whole gate chain; another tenant's contact id answers
// 404 (it is not visible under RLS), never 403. The one-statement routes send their statement
// and the COMMIT together (RequestTx.commitWith): two round trips in all, the first being BEGIN
// with app.begin_request.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError, notFound } from '../../../errors.js'
import { schemas } from './schemas.js'
import { decodeCursor, encodeCursor, toContact, writeRefused } from './service.js'
import * as q from './queries.js'
import { routes } from '../../../plugins/request-tx.js'
import { listEntityHistory } from '../../audit/queries.js'
import { toHistoryEntry } from '../../audit/service.js'

const NOT_FOUND = 'No such contact'

const plugin: FastifyPluginAsyncTypebox = async (app) => {
  const member = routes(app, 'workspace')

  member.get('/', { schema: schemas.list, config: { permission: 'contacts:read' } }, async (ctx, request) => {
    const limit = request.query.limit ?? 50
    const after = request.query.cursor ? decodeCursor(request.query.cursor) : undefined
    const rows = await ctx.tx.commitWith(q.listContacts(ctx.db, ctx.workspace.id, {
      limit: limit + 1,
      q: request.query.q?.trim() || undefined,
      after,
      scope: { of: ctx.workspace.contactsScope, userId: ctx.principal.userId, departmentIds: ctx.workspace.departmentIds },
    }))
    const page = rows.slice(0, limit)
    return { contacts: page.map(toContact), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!) : null }
  })

  member.post('/', { schema: schemas.create, config: { permission: 'contacts:create' } }, async (ctx, request, reply) => {
    const { name, email, phone, departmentId, ownerId } = request.body
    const userId = ctx.principal.userId
    try {
      const row = await ctx.tx.commitWith(q.insertContact(ctx.db, {
        workspaceId: ctx.workspace.id,
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
      throw writeRefused(err, ctx.workspace.contactsScope) ?? err
    }
  })

  member.get('/:id', { schema: schemas.get, config: { permission: 'contacts:read' } }, async (ctx, request) => {
    const row = await ctx.tx.commitWith(q.findContact(ctx.db, ctx.workspace.id, request.params.id))
    if (!row) throw notFound(NOT_FOUND)
    return { contact: toContact(row) }
  })

  member.patch('/:id', { schema: schemas.update, config: { permission: ['contacts:update', 'contacts:update_own'] } }, async (ctx, request) => {
    const { name, ...rest } = request.body
    try {
      const row = await ctx.tx.commitWith(q.updateContact(ctx.db, ctx.workspace.id, request.params.id, {
        ...rest,
        ...(name !== undefined ? { name: name.trim() } : {}),
      }))
      if (!row) throw notFound(NOT_FOUND)
      return { contact: toContact(row) }
    } catch (err) {
      throw writeRefused(err, ctx.workspace.contactsScope) ?? err
    }
  })

  member.delete('/:id', { schema: schemas.remove, config: { permission: ['contacts:delete', 'contacts:delete_own'] } }, async (ctx, request, reply) => {
    if (!(await ctx.tx.commitWith(q.softDeleteContact(ctx.db, ctx.workspace.id, request.params.id)))) throw notFound(NOT_FOUND)
    reply.code(204)
    return null
  })

  member.post('/:id/restore', { schema: schemas.restore, config: { permission: 'contacts:restore' } }, async (ctx, request) => {
    const { row, exists } = await q.restoreContact(ctx.db, ctx.workspace.id, request.params.id)
    if (row) return { contact: toContact(row) }
    if (exists) throw new AppError('conflict', 'The contact is not deleted')
    throw notFound(NOT_FOUND)
  })

  // A soft-deleted contact keeps its history (the delete is part of it). The contact must be
  // visible to the caller first (404 otherwise, as on every contact route): the log's policy is
  // workspace-wide, while the contacts policies are what may narrow which records a member sees.
  member.get('/:id/history', { schema: schemas.history, config: { permission: 'contacts:read' } }, async (ctx, request) => {
    const id = request.params.id.toLowerCase()
    if (!(await q.contactExists(ctx.db, ctx.workspace.id, id))) throw notFound(NOT_FOUND)
    const rows = await listEntityHistory(ctx.db, ctx.workspace.id, 'contact', id)
    return { entries: rows.map(toHistoryEntry) }
  })
}

export default plugin
