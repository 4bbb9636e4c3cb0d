// Forgotten password: ask for a link by email (the answer is the same whether or not the address
// has an account), then choose a new password from the emailed link, whose token is in the URL
// fragment and never leaves the browser except in the POST.
import { useState } from 'preact/hooks'
import { useLocation } from 'preact-iso'
import { api, call } from '../api/client.js'
import { Alert, Button, Field, Page, useAction } from '../ui.js'
import * as v from '../validate.js'

export function ForgotPassword() {
  const [email, setEmail] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [sent, setSent] = useState(false)
  const action = useAction()

  const submit = async (e: Event) => {
    e.preventDefault()
    const problem = v.email(email)
    setError(problem)
    if (problem) return
    const ok = await action.run(() => call(api.POST('/api/auth/forgot-password', { body: { email: email.trim() } })))
    if (ok.ok) setSent(true)
  }

  return (
    <Page title="Reset your password" narrow>
      {sent ? (
        <Alert kind="success">If an account uses {email.trim()}, we have emailed it a link to choose a new password. The link works once, for a short time.</Alert>
      ) : (
        <form onSubmit={(e) => void submit(e)} noValidate>
          {action.error && <Alert>{action.error}</Alert>}
          <Field label="Email" type="email" value={email} onValue={setEmail} error={error} autoComplete="email" required />
          <Button type="submit" busy={action.busy}>Email me a link</Button>
        </form>
      )}
      <p><a href="/sign-in">Back to sign in</a></p>
    </Page>
  )
}

export function ResetPassword() {
  const { route } = useLocation()
  const [token] = useState(() => v.takeFragmentToken())
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | null>(null)
  const action = useAction()

  const submit = async (e: Event) => {
    e.preventDefault()
    const problem = v.newPassword(password)
    setError(problem)
    if (problem || !token) return
    const ok = await action.run(() => call(api.POST('/api/auth/reset-password', { body: { token, password } })))
    if (ok.ok) route('/sign-in?reset=1')
  }

  if (!token) {
    return (
      <Page title="Choose a new password" narrow>
        <Alert>This link is incomplete. Open the link from the email again, or <a href="/forgot-password">ask for a new one</a>.</Alert>
      </Page>
    )
  }
  return (
    <Page title="Choose a new password" narrow>
      <form onSubmit={(e) => void submit(e)} noValidate>
        {action.error && <Alert>{action.error} {action.error.includes('link') && <a href="/forgot-password">Ask for a new link</a>}</Alert>}
        <Field label="New password" type="password" value={password} onValue={setPassword} error={error} autoComplete="new-password" required
          hint="At least 10 characters. Every other session of the account will be signed out." />
        <Button type="submit" busy={action.busy}>Save the new password</Button>
      </form>
    </Page>
  )
}
