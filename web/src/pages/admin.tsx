// The platform administrators' approval queue: every workspace with its owner and state, and the
// transitions the service allows from that state (approve or reject a pending one, suspend an
// active one or change its trial, reinstate a suspended one). Every admin route needs a session
// signed in with a second factor; without one the screen says so and links to Security settings.
import { useState } from 'preact/hooks'
import { api, call } from '../api/client.js'
import type { components } from '../api/schema.js'
import { ApiFailure } from '../api/errors.js'
import { useSession } from '../session.js'
import { Alert, Button, Field, Page, Select, formatTime, useAction, useLoad } from '../ui.js'
import * as v from '../validate.js'

type AdminWorkspace = components['schemas']['def-9']
type StatusFilter = '' | 'pending_approval' | 'active' | 'rejected' | 'suspended'
type Panel = { id: string; kind: 'reject' | 'suspend' | 'trial' | 'end' }

const STATUS_OPTIONS: { value: StatusFilter; label: string }[] = [
  { value: '', label: 'All' },
  { value: 'pending_approval', label: 'Pending approval' },
  { value: 'active', label: 'Active' },
  { value: 'rejected', label: 'Rejected' },
  { value: 'suspended', label: 'Suspended' },
]

const STATUS_WORDS: Record<string, string> = {
  pending_approval: 'Pending approval',
  active: 'Active',
  rejected: 'Rejected',
  suspended: 'Suspended',
}

const DAY = 24 * 3600 * 1000

/** Today + 14 days as yyyy-mm-dd (the date field's value). */
function defaultTrialEnd(): string {
  return new Date(Date.now() + 14 * DAY).toISOString().slice(0, 10)
}

/** A yyyy-mm-dd date read as a calendar day, without a time zone shifting it. */
function formatDay(day: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { dateStyle: 'medium', timeZone: 'UTC' })
}

function trialText(w: AdminWorkspace): string {
  if (!w.trial.endsAt) return '—'
  const when = formatTime(w.trial.endsAt)
  if (w.trial.expired) return `${when} (ended)`
  const days = w.trial.daysLeft
  if (days === null) return when
  return `${when} (${days} ${days === 1 ? 'day' : 'days'} left)`
}

export function AdminWorkspaces() {
  const { user } = useSession()
  if (!user?.isPlatformAdmin) {
    return (
      <Page title="Workspaces">
        <p>Only platform administrators can open this page.</p>
      </Page>
    )
  }
  return (
    <Page title="Workspaces">
      <Queue />
    </Page>
  )
}

function Queue() {
  const [status, setStatus] = useState<StatusFilter>('')
  const [loadCode, setLoadCode] = useState<string | null>(null)
  const list = useLoad(async () => {
    setLoadCode(null)
    try {
      const query = status ? { status } : {}
      return await call(api.GET('/api/admin/workspaces', { params: { query } }))
    } catch (err) {
      setLoadCode(err instanceof ApiFailure ? err.code : null)
      throw err
    }
  }, [status])

  const action = useAction()
  const [busyKey, setBusyKey] = useState<string | null>(null)
  const [success, setSuccess] = useState<string | null>(null)
  const [panel, setPanel] = useState<Panel | null>(null)
  const [reason, setReason] = useState('')
  const [reasonError, setReasonError] = useState<string | null>(null)
  const [endDay, setEndDay] = useState(defaultTrialEnd)
  const [endDayError, setEndDayError] = useState<string | null>(null)

  const open = (id: string, kind: Panel['kind']) => {
    setPanel({ id, kind })
    setReason('')
    setReasonError(null)
    setEndDay(defaultTrialEnd())
    setEndDayError(null)
    setSuccess(null)
    action.setError(null)
  }
  const close = () => setPanel(null)

  /** Runs one transition; on success says so, closes the inline form and reloads the list. */
  const perform = async (key: string, fn: () => Promise<unknown>, done: string) => {
    setSuccess(null)
    setBusyKey(key)
    const result = await action.run(fn)
    setBusyKey(null)
    if (!result.ok) return
    setPanel(null)
    setSuccess(done)
    void list.reload()
  }

  const approve = (w: AdminWorkspace) =>
    perform(`approve-${w.id}`, () => call(api.POST('/api/admin/workspaces/{id}/approve', { params: { path: { id: w.id } } })),
      `${w.name} approved; its trial has started.`)

  const reinstate = (w: AdminWorkspace) =>
    perform(`reinstate-${w.id}`, () => call(api.POST('/api/admin/workspaces/{id}/reinstate', { params: { path: { id: w.id } } })),
      `${w.name} reinstated.`)

  const submitReason = async (e: Event, w: AdminWorkspace, kind: 'reject' | 'suspend') => {
    e.preventDefault()
    const found = v.required(reason, 'The reason') ?? v.maxLength(reason, 1000, 'The reason')
    setReasonError(found)
    if (found) return
    const body = { reason: reason.trim() }
    const params = { path: { id: w.id } }
    if (kind === 'reject') {
      await perform(`reject-${w.id}`, () => call(api.POST('/api/admin/workspaces/{id}/reject', { params, body })), `${w.name} rejected.`)
    } else {
      await perform(`suspend-${w.id}`, () => call(api.POST('/api/admin/workspaces/{id}/suspend', { params, body })), `${w.name} suspended.`)
    }
  }

  const submitTrial = async (e: Event, w: AdminWorkspace) => {
    e.preventDefault()
    const day = endDay.trim()
    const found = !day
      ? 'Choose the new trial end.'
      : !/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T23:59:59Z`))
        ? 'Enter the date as year-month-day.'
        : null
    setEndDayError(found)
    if (found) return
    const endsAt = new Date(`${day}T23:59:59Z`).toISOString()
    await perform(`trial-${w.id}`,
      () => call(api.POST('/api/admin/workspaces/{id}/trial', { params: { path: { id: w.id } }, body: { endsAt } })),
      `Trial of ${w.name} now ends ${formatDay(day)}.`)
  }

  const endTrial = (w: AdminWorkspace) =>
    perform(`end-${w.id}`,
      () => call(api.POST('/api/admin/workspaces/{id}/trial', { params: { path: { id: w.id } }, body: { endsAt: new Date().toISOString() } })),
      `Trial of ${w.name} ended.`)

  const busy = busyKey !== null

  const actionsFor = (w: AdminWorkspace) => {
    const here = panel?.id === w.id ? panel.kind : null
    if (here === 'reject' || here === 'suspend') {
      const verb = here === 'reject' ? 'rejecting' : 'suspending'
      return (
        <form class="inline-form" onSubmit={(e) => void submitReason(e, w, here)} noValidate>
          <Field label={`Reason for ${verb} ${w.name}`} value={reason} onValue={setReason} error={reasonError} required maxLength={1000} autoFocus />
          <div class="actions">
            <Button type="submit" kind="danger" busy={busyKey === `${here}-${w.id}`} disabled={busy}>
              {here === 'reject' ? 'Reject workspace' : 'Suspend workspace'}
            </Button>
            <Button kind="secondary" onClick={close} disabled={busy}>Cancel</Button>
          </div>
        </form>
      )
    }
    if (here === 'trial') {
      return (
        <form class="inline-form" onSubmit={(e) => void submitTrial(e, w)} noValidate>
          <Field label={`New trial end for ${w.name}`} type="date" value={endDay} onValue={setEndDay} error={endDayError} required autoFocus />
          <div class="actions">
            <Button type="submit" busy={busyKey === `trial-${w.id}`} disabled={busy}>Save trial end</Button>
            <Button kind="secondary" onClick={close} disabled={busy}>Cancel</Button>
          </div>
        </form>
      )
    }
    if (here === 'end') {
      return (
        <div class="actions">
          <span>End the trial of {w.name} now?</span>
          <Button kind="danger" busy={busyKey === `end-${w.id}`} disabled={busy} onClick={() => void endTrial(w)}>Yes, end the trial</Button>
          <Button kind="secondary" onClick={close} disabled={busy}>Cancel</Button>
        </div>
      )
    }
    switch (w.status) {
      case 'pending_approval':
        return (
          <div class="actions">
            <Button aria-label={`Approve ${w.name}`} busy={busyKey === `approve-${w.id}`} disabled={busy} onClick={() => void approve(w)}>Approve</Button>
            <Button kind="danger" aria-label={`Reject ${w.name}`} disabled={busy} onClick={() => open(w.id, 'reject')}>Reject</Button>
          </div>
        )
      case 'active':
        return (
          <div class="actions">
            <Button kind="danger" aria-label={`Suspend ${w.name}`} disabled={busy} onClick={() => open(w.id, 'suspend')}>Suspend</Button>
            <Button kind="secondary" aria-label={`Extend the trial of ${w.name}`} disabled={busy} onClick={() => open(w.id, 'trial')}>Extend trial</Button>
            <Button kind="secondary" aria-label={`End the trial of ${w.name} now`} disabled={busy} onClick={() => open(w.id, 'end')}>End trial now</Button>
          </div>
        )
      case 'suspended':
        return (
          <div class="actions">
            <Button aria-label={`Reinstate ${w.name}`} busy={busyKey === `reinstate-${w.id}`} disabled={busy} onClick={() => void reinstate(w)}>Reinstate</Button>
          </div>
        )
      default:
        return <span class="muted">—</span>
    }
  }

  const workspaces = list.data?.workspaces ?? []

  return (
    <>
      <Select label="Status" value={status} onValue={(value) => { setStatus(value as StatusFilter); setPanel(null) }} options={STATUS_OPTIONS} />
      {list.error && (
        <Alert>
          {list.error}
          {loadCode === 'mfa_required' && <> <a href="/settings/security">Go to Security settings</a></>}
        </Alert>
      )}
      {action.error && (
        <Alert>
          {action.error}
          {action.failure?.code === 'mfa_required' && <> <a href="/settings/security">Go to Security settings</a></>}
        </Alert>
      )}
      {success && <Alert kind="success">{success}</Alert>}
      {list.loading && !list.data && <p class="muted">Loading…</p>}
      {list.data && workspaces.length === 0 && <p>No workspaces here.</p>}
      {workspaces.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Owner</th>
                <th scope="col">Status</th>
                <th scope="col">Reason</th>
                <th scope="col">Created</th>
                <th scope="col">Trial ends</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {workspaces.map((w) => (
                <tr key={w.id}>
                  <td>{w.name}</td>
                  <td>{w.ownerEmail}</td>
                  <td>{STATUS_WORDS[w.status] ?? w.status}</td>
                  <td>{w.statusReason ?? <span class="muted">—</span>}</td>
                  <td>{formatTime(w.createdAt)}</td>
                  <td>{trialText(w)}</td>
                  <td>{actionsFor(w)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  )
}
