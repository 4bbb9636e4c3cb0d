// The audit log of the workspace (owners and admins): who did what, when, to which record, with
// filters by action, entity and person, newest first, a page at a time. It reads the database's
// append-only trail; nothing here can change it.
import { useState } from 'preact/hooks'
import { api, call } from '../api/client.js'
import type { paths } from '../api/schema.js'
import { Alert, Button, Field, Page, Select, formatTime, useLoad } from '../ui.js'
import { ApiFailure } from '../api/errors.js'

type Entry = paths['/api/workspace/audit-log']['get']['responses'][200]['content']['application/json']['entries'][number]

interface Filters {
  action: string
  entity: string
  actorId: string
}

function clip(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** A short account of what an entry changed: the keys whose values differ, or the event's fields. */
function details(e: Entry): string {
  const before = (e.before ?? {}) as Record<string, unknown>
  const after = (e.after ?? {}) as Record<string, unknown>
  if (e.before && e.after) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .filter((k) => !/At$/.test(k) && JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    return keys.length ? clip(`changed ${keys.join(', ')}`) : '—'
  }
  const fields = Object.keys(e.after ?? e.before ?? {})
  return fields.length ? clip(fields.join(', ')) : '—'
}

export function AuditLog() {
  const [draft, setDraft] = useState<Filters>({ action: '', entity: '', actorId: '' })
  const [filters, setFilters] = useState<Filters>(draft)
  const [cursor, setCursor] = useState<string | undefined>(undefined)
  const members = useLoad(() => call(api.GET('/api/workspace/members')), [])
  const [forbidden, setForbidden] = useState(false)
  const log = useLoad(async () => {
    try {
      return await call(api.GET('/api/workspace/audit-log', {
        params: {
          query: {
            limit: 50,
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

  const who = (id: string | null) => {
    if (!id) return 'System'
    return members.data?.members.find((m) => m.userId === id)?.name ?? id
  }
  const apply = (e: Event) => {
    e.preventDefault()
    setCursor(undefined)
    setFilters({ action: draft.action.trim(), entity: draft.entity.trim(), actorId: draft.actorId })
  }

  if (forbidden) {
    return (
      <Page title="Audit log">
        <Alert>Only owners and admins can read the audit log.</Alert>
      </Page>
    )
  }
  return (
    <Page title="Audit log">
      <form class="row" onSubmit={apply}>
        <Field label="Action" value={draft.action} onValue={(action) => setDraft({ ...draft, action })} placeholder="e.g. contact.update" maxLength={100} />
        <Field label="Entity" value={draft.entity} onValue={(entity) => setDraft({ ...draft, entity })} placeholder="e.g. contact" maxLength={100} />
        <Select label="Person" value={draft.actorId} onValue={(actorId) => setDraft({ ...draft, actorId })}
          options={[{ value: '', label: 'Anyone' }, ...(members.data?.members ?? []).map((m) => ({ value: m.userId, label: m.name }))]} />
        <Button type="submit" kind="secondary">Filter</Button>
      </form>
      {log.error && <Alert>{log.error}</Alert>}
      {log.loading && !log.data && <p role="status">Loading…</p>}
      {log.data && log.data.entries.length === 0 && <p>No entries match.</p>}
      {log.data && log.data.entries.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Audit log entries">
          <table>
            <thead>
              <tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Entity</th><th scope="col">Details</th></tr>
            </thead>
            <tbody>
              {log.data.entries.map((e) => (
                <tr key={e.id}>
                  <td>{formatTime(e.at)}</td>
                  <td>{who(e.actorId)}{e.actorTokenId ? ' (API token)' : ''}</td>
                  <td>{e.action}</td>
                  <td>{e.entityType ?? '—'}</td>
                  <td>{details(e)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="actions" aria-label="Pages">
        {cursor && <Button kind="secondary" onClick={() => setCursor(undefined)}>Newest entries</Button>}
        {log.data?.nextCursor && <Button kind="secondary" onClick={() => setCursor(log.data!.nextCursor ?? undefined)}>Older entries</Button>}
      </nav>
    </Page>
  )
}
