// The audit log of the workspace (owners and admins): who did what, when, to which record, with
// filters by action, entity and person, newest first, a page at a time. It reads the database's
// append-only trail; nothing here can change it. Each entry's details are a short summary (the
// fields a change touched, an event's own facts), never the stored record itself.
import { useState } from 'preact/hooks'
import { api, call } from '../api/client.js'
import { ApiFailure } from '../api/errors.js'
import type { paths } from '../api/schema.js'
import { useSession } from '../session.js'
import { Alert, Button, Field, Page, Select, formatTime, useLoad } from '../ui.js'

type Entry = paths['/api/workspace/audit-log']['get']['responses'][200]['content']['application/json']['entries'][number]

interface Filters {
  action: string
  entity: string
  actorId: string
}

const PAGE_SIZE = 50
const NO_FILTERS: Filters = { action: '', entity: '', actorId: '' }
// The API's own rules for the filters (modules/audit/schemas.ts), checked before asking.
const ACTION = /^[a-z_]+(\.[a-z_]+)*$/
const ENTITY = /^[a-z_]+(:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$/

function clip(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** A value as a few readable characters: text as it is, anything nested as clipped JSON. */
function brief(value: unknown): string {
  if (value === null || value === undefined) return '—'
  if (typeof value === 'string') return clip(value, 60)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return clip(JSON.stringify(value), 40)
}

/** What a record is called, for "Created …" and "Deleted …". */
function labelOf(snapshot: Record<string, unknown> | null): string {
  for (const key of ['name', 'email', 'title']) {
    const value = snapshot?.[key]
    if (typeof value === 'string' && value.trim()) return clip(value.trim(), 60)
  }
  return ''
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/** A short account of what an entry did: the fields a change touched, or an event's own facts. */
function details(e: Entry): string {
  const { before, after } = e
  if (e.kind === 'change' || (before && after)) {
    if (before && after) {
      const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => !same(before[k], after[k]))
      if (keys.includes('deletedAt')) {
        const label = labelOf(after) || labelOf(before)
        return clip(`${after.deletedAt ? 'Deleted' : 'Restored'}${label ? ` ${label}` : ''}`)
      }
      const shown = keys.filter((k) => k !== 'updatedAt')
      return shown.length ? clip(`Changed ${shown.join(', ')}`) : 'No visible change'
    }
    if (after) return clip(`Created${labelOf(after) ? ` ${labelOf(after)}` : ''}`)
    if (before) return clip(`Deleted${labelOf(before) ? ` ${labelOf(before)}` : ''}`)
    return '—'
  }
  // An event: its payload's facts as "key: value".
  const payload = after ?? before
  if (!payload) return '—'
  const facts = Object.entries(payload).map(([k, value]) => `${k}: ${brief(value)}`)
  return facts.length ? clip(facts.join('; ')) : '—'
}

export function AuditLog() {
  const { workspaceId } = useSession()
  if (!workspaceId) {
    return (
      <Page title="Audit log">
        <p>You are not in a workspace yet. <a href="/workspaces/new">Create a workspace</a>.</p>
      </Page>
    )
  }
  // A new workspace chosen in the switcher starts the log afresh.
  return <AuditScreen key={workspaceId} />
}

function AuditScreen() {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS)
  const [errors, setErrors] = useState<{ action?: string | null; entity?: string | null }>({})
  const [filters, setFilters] = useState<Filters>(NO_FILTERS)
  const [cursor, setCursor] = useState<string | undefined>(undefined)
  const [forbidden, setForbidden] = useState(false)
  const members = useLoad(() => call(api.GET('/api/workspace/members')), [])
  const log = useLoad(async () => {
    try {
      return await call(api.GET('/api/workspace/audit-log', {
        params: {
          query: {
            limit: PAGE_SIZE,
            ...(cursor ? { cursor } : {}),
            ...(filters.action ? { action: filters.action } : {}),
            ...(filters.entity ? { entity: filters.entity } : {}),
            ...(filters.actorId ? { actorId: filters.actorId } : {}),
          },
        },
      }))
    } catch (err) {
      setForbidden(err instanceof ApiFailure && err.code === 'forbidden')
      throw err
    }
  }, [filters, cursor])

  const memberList = members.data?.members ?? []
  const nameOf = (id: string) => memberList.find((m) => m.userId === id)?.name ?? id
  const who = (e: Entry) => {
    const actor = e.actorId ? nameOf(e.actorId) : e.actorTokenId ? 'An API token' : 'System'
    const token = e.actorId && e.actorTokenId ? ' (with an API token)' : ''
    const as = e.actingAsId && e.actingAsId !== e.actorId ? ` (as ${nameOf(e.actingAsId)})` : ''
    return `${actor}${token}${as}`
  }
  const entity = (e: Entry) => e.entityType ?? '—'

  const apply = (ev: Event) => {
    ev.preventDefault()
    const action = draft.action.trim().toLowerCase()
    const entityFilter = draft.entity.trim().toLowerCase()
    const found = {
      action: action && !ACTION.test(action) ? 'Enter an action like contact.update: lower-case letters and underscores, parts joined by dots.' : null,
      entity: entityFilter && !ENTITY.test(entityFilter) ? 'Enter an entity like contact, or contact:<its id> for one record.' : null,
    }
    setErrors(found)
    if (found.action || found.entity) return
    setCursor(undefined)
    setFilters({ action, entity: entityFilter, actorId: draft.actorId })
  }

  if (forbidden) {
    return (
      <Page title="Audit log">
        <Alert>Only owners and admins can read the audit log.</Alert>
      </Page>
    )
  }

  const entries = log.data?.entries ?? []
  const filtered = Boolean(filters.action || filters.entity || filters.actorId)
  const personOptions = [
    { value: '', label: 'Anyone' },
    ...[...memberList].sort((a, b) => a.name.localeCompare(b.name)).map((m) => ({ value: m.userId, label: m.name })),
  ]
  return (
    <Page title="Audit log">
      <p class="muted">Every change to the workspace's records and every sensitive action, newest first.</p>
      <form role="search" aria-label="Filter the audit log" onSubmit={apply} noValidate>
        <div class="row">
          <Field label="Action" value={draft.action} onValue={(action) => setDraft({ ...draft, action })} error={errors.action}
            placeholder="e.g. contact.update" maxLength={100} autoComplete="off" />
          <Field label="Entity" value={draft.entity} onValue={(entity) => setDraft({ ...draft, entity })} error={errors.entity}
            placeholder="e.g. contact" maxLength={140} autoComplete="off" />
          <Select label="Person" value={draft.actorId} onValue={(actorId) => setDraft({ ...draft, actorId })} options={personOptions} />
        </div>
        <Button type="submit" kind="secondary">Filter</Button>
      </form>
      {log.error && <Alert>{log.error}</Alert>}
      {log.loading && <p role="status">Loading entries…</p>}
      {log.data && entries.length === 0 && <p>{filtered ? 'No entries match these filters.' : 'No entries yet.'}</p>}
      {entries.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Audit log entries">
          <table>
            <caption class="visually-hidden">Audit log entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Entity</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id}>
                  <td>{formatTime(e.at)}</td>
                  <td>{who(e)}</td>
                  <td>{e.action}</td>
                  <td>{entity(e)}</td>
                  <td class="audit-details">{details(e)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {(cursor || log.data?.nextCursor) && (
        <nav class="actions" aria-label="Pages of the audit log">
          {cursor && <Button kind="secondary" onClick={() => setCursor(undefined)}>Newest entries</Button>}
          {log.data?.nextCursor && <Button kind="secondary" onClick={() => setCursor(log.data?.nextCursor ?? undefined)}>Older entries</Button>}
        </nav>
      )}
    </Page>
  )
}
