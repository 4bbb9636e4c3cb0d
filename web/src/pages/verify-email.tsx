// The emailed verification link (`/verify-email#token=…`). The link proves control of the
// address; being signed in to the account proves control of the account, so the service
// verifies only for the account's own session: signed out, the page asks the person to sign in
// (and comes back here with the token kept for this tab); signed in as someone else, it says so.
import { useEffect, useState } from 'preact/hooks'
import { useLocation } from 'preact-iso'
import { api, call } from '../api/client.js'
import { useSession } from '../session.js'
import { Alert, Button, Page, useAction } from '../ui.js'
import { pendingToken } from '../validate.js'

export function VerifyEmail() {
  const session = useSession()
  const { route } = useLocation()
  const [{ token, done: forget }] = useState(() => pendingToken('verification'))
  const [done, setDone] = useState(false)
  const action = useAction()

  const confirm = async () => {
    if (!token) return
    const result = await action.run(() => call(api.POST('/api/auth/verify-email', { body: { token } })))
    if (result.ok) {
      forget()
      await session.refresh()
      setDone(true)
    }
  }

  useEffect(() => {
    if (session.user === null && token) route('/sign-in?next=/verify-email', true)
  }, [session.user, token, route])

  if (!token) {
    return (
      <Page title="Verify your email" narrow>
        <Alert>This link is incomplete. Open the link from the email again{session.user ? ', or ask for a new one from the banner above' : ''}.</Alert>
      </Page>
    )
  }
  if (!session.user) return null
  if (done) {
    return (
      <Page title="Email verified" narrow>
        <Alert kind="success">{session.user.email} is verified. Other sessions of this account were signed out.</Alert>
        <p><a href="/">Continue</a></p>
      </Page>
    )
  }
  return (
    <Page title="Verify your email" narrow>
      {action.failure?.code === 'forbidden' ? (
        <Alert>
          This link verifies a different account from the one signed in ({session.user.email}). Sign out, then sign in to the account the
          email was sent to and open the link again.
        </Alert>
      ) : action.error ? (
        <Alert>{action.error}</Alert>
      ) : null}
      <p>Confirm that <strong>{session.user.email}</strong> is your address.</p>
      <Button busy={action.busy} onClick={() => void confirm()}>Confirm my email address</Button>
    </Page>
  )
}
