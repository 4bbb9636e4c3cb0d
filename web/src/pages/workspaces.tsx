// Creating a workspace (closed beta: with the invite code; it then waits for approval), and the
// screen a workspace's members see while it is rejected or suspended, with the reason.
import { useState } from 'preact/hooks'
import { useLocation } from 'preact-iso'
import { api, call } from '../api/client.js'
import { stateMessage, useSession } from '../session.js'
import { Alert, Button, Field, Page, useAction } from '../ui.js'
import * as v from '../validate.js'

export function NewWorkspace() {
  const session = useSession()
  const { route } = useLocation()
  const [name, setName] = useState('')
  const [inviteCode, setInviteCode] = useState('')
  const [errors, setErrors] = useState<Record<string, string | null>>({})
  const action = useAction()

  const submit = async (e: Event) => {
    e.preventDefault()
    const found = { name: v.name(name, 'The workspace name'), inviteCode: v.required(inviteCode, 'The invite code') ?? v.maxLength(inviteCode, 200, 'The invite code') }
    setErrors(found)
    if (found.name || found.inviteCode) return
    const result = await action.run(() => call(api.POST('/api/workspaces', { body: { name: name.trim(), inviteCode: inviteCode.trim() } })))
    if (!result.ok) return
    await session.refresh()
    session.chooseWorkspace(result.value.workspace.id)
    route('/contacts')
  }

  return (
    <Page title="Create a workspace" narrow>
      {!session.user?.emailVerified && <Alert kind="info">Verify your email address first: a workspace is created by a verified account.</Alert>}
      <p>Gatehouse is in a closed beta: creating a workspace takes the invite code you were given. A new workspace waits for approval before it can be used.</p>
      <form onSubmit={(e) => void submit(e)} noValidate>
        {action.error && <Alert>{action.error}</Alert>}
        <Field label="Workspace name" value={name} onValue={setName} error={errors.name} required maxLength={200} />
        <Field label="Invite code" value={inviteCode} onValue={setInviteCode} error={errors.inviteCode} required autoComplete="off" />
        <Button type="submit" busy={action.busy}>Create workspace</Button>
      </form>
    </Page>
  )
}

/** Shown instead of a workspace screen while the workspace is rejected or suspended. */
export function WorkspaceState() {
  const { workspace } = useSession()
  if (!workspace) return null
  const title = workspace.status === 'rejected' ? 'Workspace not approved' : workspace.status === 'suspended' ? 'Workspace suspended' : 'Awaiting approval'
  return (
    <Page title={title}>
      <Alert kind={workspace.status === 'pending_approval' ? 'info' : 'warning'}>{stateMessage(workspace.status)}</Alert>
      {workspace.statusReason && (
        <dl class="facts">
          <dt>Reason</dt>
          <dd>{workspace.statusReason}</dd>
        </dl>
      )}
      <p>Questions? Reply to any email from Gatehouse.</p>
    </Page>
  )
}
