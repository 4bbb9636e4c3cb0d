// Contacts: the list (search, pages of 50), adding one, and a contact's own screen (edit, delete,
// restore, and its timeline from the audit trail). Every list and record comes through the
// database's row-level security: a contact outside the caller's workspace or visibility scope
// is simply not there (404), so nothing here filters by tenant.
import { useState } from 'preact/hooks'
import { useRoute } from 'preact-iso'
import { api, call } from '../api/client.js'
import { ApiFailure } from '../api/errors.js'
import type { paths } from '../api/schema.js'
import { Alert, Button, Field, Page, WriteButton, formatTime, useAction, useLoad } from '../ui.js'
import * as v from '../validate.js'

type Contact = paths['/api/crm/contacts/{id}']['get']['responses'][200]['content']['application/json']['contact']
type HistoryEntry = paths['/api/crm/contacts/{id}/history']['get']['responses'][200]['content']['application/json']['entries'][number]

interface Draft {
  name: string
  email: string
  phone: string
}

const emptyDraft: Draft = { name: '', email: '', phone: '' }

function draftOf(contact: Contact): Draft {
  return { name: contact.name, email: contact.email ?? '', phone: contact.phone ?? '' }
}

function checkDraft(d: Draft): Record<keyof Draft, string | null> {
  return { name: v.name(d.name), email: d.email.trim() ? v.email(d.email) : null, phone: v.phone(d.phone) }
}

/** The fields of a contact, as in the API; `submit` names the button. */
function ContactForm(props: {
  initial: Draft
  submit: string
  busy: boolean
  error: string | null
  onSave: (draft: Draft) => void
  onCancel: () => void
}) {
  const [draft, setDraft] = useState(props.initial)
  const [errors, setErrors] = useState<Record<string, string | null>>({})
  const set = (key: keyof Draft) => (value: string) => setDraft({ ...draft, [key]: value })
  const save = (e: Event) => {
    e.preventDefault()
    const found = checkDraft(draft)
    setErrors(found)
    if (!Object.values(found).some(Boolean)) props.onSave(draft)
  }
  return (
    <form class="card" onSubmit={save} noValidate>
      {props.error && <Alert>{props.error}</Alert>}
      <Field label="Name" value={draft.name} onValue={set('name')} error={errors.name} required maxLength={200} autoFocus />
      <div class="row">
        <Field label="Email" type="email" value={draft.email} onValue={set('email')} error={errors.email} autoComplete="off" />
        <Field label="Phone" type="tel" value={draft.phone} onValue={set('phone')} error={errors.phone} autoComplete="off" />
      </div>
      <div class="actions">
        <WriteButton type="submit" busy={props.busy}>{props.submit}</WriteButton>
        <Button kind="secondary" onClick={props.onCancel}>Cancel</Button>
      </div>
    </form>
  )
}

export function Contacts() {
  const [query, setQuery] = useState('')
  const [search, setSearch] = useState('')
  // The cursors of the pages before this one (the first page has none).
  const [cursors, setCursors] = useState<(string | undefined)[]>([])
  const [cursor, setCursor] = useState<string | undefined>(undefined)
  const [adding, setAdding] = useState(false)
  const [added, setAdded] = useState(false)
  const action = useAction()
  const list = useLoad(
    () => call(api.GET('/api/crm/contacts', { params: { query: { ...(search ? { q: search } : {}), ...(cursor ? { cursor } : {}), limit: 50 } } })),
    [search, cursor],
  )

  const find = (e: Event) => {
    e.preventDefault()
    setCursors([])
    setCursor(undefined)
    setSearch(query.trim())
  }

  const add = async (d: Draft) => {
    const body = { name: d.name.trim(), ...(d.email.trim() ? { email: d.email.trim() } : {}), ...(d.phone.trim() ? { phone: d.phone.trim() } : {}) }
    const result = await action.run(() => call(api.POST('/api/crm/contacts', { body })))
    if (!result.ok) return
    setAdding(false)
    setAdded(true)
    await list.reload()
  }

  const contacts = list.data?.contacts ?? []
  return (
    <Page title="Contacts">
      <div class="row">
        <form class="row" role="search" onSubmit={find}>
          <Field label="Search" type="search" value={query} onValue={setQuery} maxLength={200} placeholder="Name or email" />
          <Button type="submit" kind="secondary">Search</Button>
        </form>
        {!adding && <WriteButton onClick={() => { setAdding(true); setAdded(false) }}>Add contact</WriteButton>}
      </div>
      {added && <Alert kind="success">Contact added.</Alert>}
      {adding && (
        <ContactForm initial={emptyDraft} submit="Save contact" busy={action.busy} error={action.error}
          onSave={(d) => void add(d)} onCancel={() => { setAdding(false); action.setError(null) }} />
      )}
      {list.error && <Alert>{list.error}</Alert>}
      {list.loading && !list.data && <p role="status">Loading contacts…</p>}
      {list.data && contacts.length === 0 && <p>{search ? `No contacts match “${search}”.` : 'No contacts yet.'}</p>}
      {contacts.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Contacts{search ? ` matching ${search}` : ''}</caption>
            <thead>
              <tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Phone</th><th scope="col">Updated</th></tr>
            </thead>
            <tbody>
              {contacts.map((c) => (
                <tr key={c.id}>
                  <td><a href={`/contacts/${c.id}`}>{c.name}</a></td>
                  <td>{c.email ?? '—'}</td>
                  <td>{c.phone ?? '—'}</td>
                  <td>{formatTime(c.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="actions" aria-label="Pages">
        {cursors.length > 0 && (
          <Button kind="secondary" onClick={() => { setCursor(cursors[cursors.length - 1]); setCursors(cursors.slice(0, -1)) }}>Previous page</Button>
        )}
        {list.data?.nextCursor && (
          <Button kind="secondary" onClick={() => { setCursors([...cursors, cursor]); setCursor(list.data!.nextCursor ?? undefined) }}>Next page</Button>
        )}
      </nav>
    </Page>
  )
}

const ACTIONS: Record<string, string> = {
  'contact.create': 'Created',
  'contact.purge': 'Removed for good',
  'contact.update': 'Updated',
  'contact.delete': 'Deleted',
  'contact.restore': 'Restored',
}
// The history's before/after use the resource's camelCase names.
const FIELDS: Record<string, string> = {
  name: 'Name',
  email: 'Email',
  phone: 'Phone',
  departmentId: 'Department',
  ownerId: 'Owner',
}

function shown(value: unknown): string {
  if (value === null || value === undefined || value === '') return '(empty)'
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text.length > 80 ? `${text.slice(0, 79)}…` : text
}

/** What an update changed, field by field (only the fields a person edits). */
function changes(entry: HistoryEntry): string[] {
  const before = (entry.before ?? {}) as Record<string, unknown>
  const after = (entry.after ?? {}) as Record<string, unknown>
  return Object.keys(FIELDS)
    .filter((key) => key in before || key in after)
    .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]))
    .map((key) => `${FIELDS[key]}: ${shown(before[key])} → ${shown(after[key])}`)
}

function History(props: { id: string; version: number }) {
  const history = useLoad(() => call(api.GET('/api/crm/contacts/{id}/history', { params: { path: { id: props.id } } })), [props.id, props.version])
  return (
    <section aria-labelledby="history">
      <h2 id="history">History</h2>
      {history.error && <Alert>{history.error}</Alert>}
      {history.loading && !history.data && <p role="status">Loading the history…</p>}
      {history.data && history.data.entries.length === 0 && <p class="muted">No changes recorded yet.</p>}
      {history.data && history.data.entries.length > 0 && (
        // The service lists the timeline oldest first; the newest is shown first.
        <ol class="timeline">
          {[...history.data.entries].reverse().map((e, i) => {
            const changed = e.action === 'contact.update' ? changes(e) : []
            return (
              <li key={`${e.at}-${i}`}>
                <span class="muted">{formatTime(e.at)}</span> <strong>{ACTIONS[e.action] ?? e.action}</strong>
                {changed.length > 0 && <ul>{changed.map((c) => <li key={c}>{c}</li>)}</ul>}
              </li>
            )
          })}
        </ol>
      )}
    </section>
  )
}

export function ContactDetail() {
  const { params } = useRoute()
  const id = params.id ?? ''
  // Keyed by the id, so opening another contact starts afresh (no edit form or delete state carried over).
  return <ContactScreen key={id} id={id} />
}

function ContactScreen(props: { id: string }) {
  const { id } = props
  const [editing, setEditing] = useState(false)
  const [confirming, setConfirming] = useState(false)
  const [deleted, setDeleted] = useState(false)
  const [version, setVersion] = useState(0)
  const action = useAction()
  // A 404 (no such contact, or not visible to this person) loads as null; any other failure is an error.
  const record = useLoad(async () => {
    try {
      return await call(api.GET('/api/crm/contacts/{id}', { params: { path: { id } } }))
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 404) return null
      throw err
    }
  }, [id])
  const contact = record.data?.contact

  const save = async (d: Draft) => {
    if (!contact) return
    const body = { name: d.name.trim(), email: d.email.trim() || null, phone: d.phone.trim() || null }
    const result = await action.run(() => call(api.PATCH('/api/crm/contacts/{id}', { params: { path: { id } }, body })))
    if (!result.ok) return
    record.setData(result.value)
    setEditing(false)
    setVersion(version + 1)
  }

  const remove = async () => {
    const result = await action.run(() => call(api.DELETE('/api/crm/contacts/{id}', { params: { path: { id } } })))
    setConfirming(false)
    if (result.ok) setDeleted(true)
  }

  const restore = async () => {
    const result = await action.run(() => call(api.POST('/api/crm/contacts/{id}/restore', { params: { path: { id } } })))
    if (!result.ok) return
    record.setData(result.value)
    setDeleted(false)
    setVersion(version + 1)
  }

  if (record.error) {
    return (
      <Page title="Contact">
        <Alert>{record.error}</Alert>
        <div class="actions">
          <Button kind="secondary" onClick={() => void record.reload()}>Try again</Button>
        </div>
        <p><a href="/contacts">Back to contacts</a></p>
      </Page>
    )
  }
  if (record.data === undefined) {
    return (
      <Page title="Contact">
        <p role="status">Loading…</p>
      </Page>
    )
  }
  if (!contact) {
    return (
      <Page title="Contact not found">
        <Alert>This contact does not exist, or you cannot see it.</Alert>
        <p><a href="/contacts">Back to contacts</a></p>
      </Page>
    )
  }
  if (deleted) {
    return (
      <Page title={contact.name}>
        <Alert kind="success">Contact deleted.</Alert>
        {action.error && <Alert>{action.error}</Alert>}
        <div class="actions">
          <WriteButton kind="secondary" busy={action.busy} onClick={() => void restore()}>Restore</WriteButton>
        </div>
        <p><a href="/contacts">Back to contacts</a></p>
      </Page>
    )
  }
  return (
    <Page title={contact.name}>
      <p><a href="/contacts">Back to contacts</a></p>
      {editing ? (
        <ContactForm initial={draftOf(contact)} submit="Save changes" busy={action.busy} error={action.error}
          onSave={(d) => void save(d)} onCancel={() => { setEditing(false); action.setError(null) }} />
      ) : (
        <>
          {action.error && <Alert>{action.error}</Alert>}
          <dl class="facts card">
            <dt>Email</dt><dd>{contact.email ?? '—'}</dd>
            <dt>Phone</dt><dd>{contact.phone ?? '—'}</dd>
            <dt>Created</dt><dd>{formatTime(contact.createdAt)}</dd>
            <dt>Updated</dt><dd>{formatTime(contact.updatedAt)}</dd>
          </dl>
          <div class="actions">
            <WriteButton onClick={() => setEditing(true)}>Edit</WriteButton>
            {confirming ? (
              <>
                <span>Delete {contact.name}? An admin can restore it.</span>
                <Button kind="danger" busy={action.busy} onClick={() => void remove()}>Yes, delete</Button>
                <Button kind="secondary" onClick={() => setConfirming(false)}>Keep it</Button>
              </>
            ) : (
              <WriteButton kind="danger" onClick={() => setConfirming(true)}>Delete</WriteButton>
            )}
          </div>
        </>
      )}
      <History id={id} version={version} />
    </Page>
  )
}
