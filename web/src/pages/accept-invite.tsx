// The emailed invitation link (`/accept-invite#token=…`): signed in with the invited address,
// the person accepts and lands in the workspace; signed out, they sign in or sign up first and
// come back here (the token kept for this tab only).
import { useEffect, useState } from 'preact/hooks'
import { useLocation } from 'preact-iso'
import { api, call } from '../api/client.js'
import { useSession } from '../session.js'
import { Alert, Button, Page, useAction } from '../ui.js'
import { pendingToken } from '../validate.js'

export function AcceptInvite() {
  const session = useSession()
  const { route } = useLocation()
  const [{ token, done: forget }] = useState(() => pendingToken('invite'))
  const action = useAction()

  useEffect(() => {
    if (session.user === null && token) route('/sign-in?next=/accept-invite', true)
  }, [session.user, token, route])

  const accept = async () => {
    if (!token) return
    const result = await action.run(() => call(api.POST('/api/invites/accept', { body: { token } })))
    if (!result.ok) return
    forget()
    await session.refresh()
    session.chooseWorkspace(result.value.workspaceId)
    route('/contacts')
  }

  if (!token) {
    return (
      <Page title="Join a workspace" narrow>
        <Alert>This invitation link is incomplete. Open the link from the email again.</Alert>
      </Page>
    )
  }
  if (!session.user) return null
  return (
    <Page title="Join a workspace" narrow>
      {action.error && <Alert>{action.error}</Alert>}
      <p>You were invited to a workspace. Accept as <strong>{session.user.email}</strong>? The invitation must have been sent to this address.</p>
      <Button busy={action.busy} onClick={() => void accept()}>Accept the invitation</Button>
    </Page>
  )
}
