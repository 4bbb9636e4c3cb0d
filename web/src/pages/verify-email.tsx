// The emailed verification link (`/verify-email#token=…`). The link proves control of the
// address; being signed in to the account proves control of the account, so the service
// verifies only for the account's own session: signed out, the page asks the person to sign in
// (and comes back here with the token kept for this tab); signed in as someone else, it says so.
import { useEffect, useState } from 'preact/hooks'
import { useLocation } from 'preact-iso'
import { api, call } from '../api/client.js'
import { useSession } from '../session.js'
import { Alert, Button, Page, useAction } from '../ui.js'
import { takeFragmentToken } from '../validate.js'

const PENDING_KEY = 'gatehouse.pending-verification'

/** The token from the link, kept in this tab's sessionStorage while the person signs in. */
function pendingToken(): string | null {
  const fromLink = takeFragmentToken()
  try {
    if (fromLink) sessionStorage.setItem(PENDING_KEY, fromLink)
    return fromLink ?? sessionStorage.getItem(PENDING_KEY)
  } catch {
    return fromLink
  }
}

function forget(): void {
  try {
    sessionStorage.removeItem(PENDING_KEY)
  } catch {
    // nothing kept
  }
}

export function VerifyEmail() {
  const session = useSession()
  const { route } = useLocation()
  const [token] = useState(pendingToken)
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
