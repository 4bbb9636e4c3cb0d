// Sign in: email and password, then, for an account with two-factor authentication, a code from
// the authenticator app or one of the backup codes. Returns to the screen that asked for it.
import { useState } from 'preact/hooks'
import { useLocation } from 'preact-iso'
import { api, call } from '../api/client.js'
import { useSession } from '../session.js'
import { Alert, Button, Field, Page, useAction } from '../ui.js'
import * as v from '../validate.js'

/** Where to go after signing in: a path on this site only (never `//host` or a URL). */
export function safeNext(next: string | undefined): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/'
}

export function SignIn() {
  const { query, route } = useLocation()
  const session = useSession()
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [mfaToken, setMfaToken] = useState<string | null>(null)
  const [code, setCode] = useState('')
  const [useBackup, setUseBackup] = useState(false)
  const [errors, setErrors] = useState<Record<string, string | null>>({})
  const action = useAction()

  const done = async () => {
    await session.refresh()
    route(safeNext(query.next))
  }

  const submitPassword = async (e: Event) => {
    e.preventDefault()
    const found = { email: v.email(email), password: v.required(password, 'Password') }
    setErrors(found)
    if (found.email || found.password) return
    const result = await action.run(() => call(api.POST('/api/auth/login', { body: { email: email.trim(), password } })))
    if (!result.ok) return
    if ('mfaRequired' in result.value && result.value.mfaRequired) setMfaToken(result.value.mfaToken)
    else await done()
  }

  const submitCode = async (e: Event) => {
    e.preventDefault()
    const problem = useBackup ? v.required(code, 'The backup code') : v.totp(code)
    setErrors({ code: problem })
    if (problem || !mfaToken) return
    const body = useBackup ? { mfaToken, backupCode: code.trim() } : { mfaToken, code: code.replace(/\s/g, '') }
    const result = await action.run(() => call(api.POST('/api/auth/login/mfa', { body })))
    if (result.ok) await done()
  }

  if (mfaToken) {
    return (
      <Page title="Two-factor authentication" narrow>
        <form onSubmit={(e) => void submitCode(e)} noValidate>
          {action.error && <Alert>{action.error}</Alert>}
          {useBackup ? (
            <Field label="Backup code" value={code} onValue={setCode} error={errors.code} autoComplete="off" autoFocus
              hint="One of the codes you saved when you turned on two-factor authentication. Each works once." />
          ) : (
            <Field label="Authentication code" value={code} onValue={setCode} error={errors.code} inputMode="numeric"
              autoComplete="one-time-code" autoFocus hint="The 6-digit code your authenticator app shows now." />
          )}
          <div class="actions">
            <Button type="submit" busy={action.busy}>Verify</Button>
            <Button kind="link" onClick={() => { setUseBackup(!useBackup); setCode(''); setErrors({}) }}>
              {useBackup ? 'Use the authenticator app instead' : 'Use a backup code instead'}
            </Button>
          </div>
        </form>
      </Page>
    )
  }

  return (
    <Page title="Sign in" narrow>
      {query.next?.startsWith('/verify-email') && <Alert kind="info">Sign in to the account you are verifying, then confirm.</Alert>}
      {query.next?.startsWith('/accept-invite') && <Alert kind="info">Sign in with the address the invitation was sent to, then accept it.</Alert>}
      {query.reset === '1' && <Alert kind="success">Your password was changed. Sign in with the new one.</Alert>}
      <form onSubmit={(e) => void submitPassword(e)} noValidate>
        {action.error && <Alert>{action.error}</Alert>}
        <Field label="Email" type="email" value={email} onValue={setEmail} error={errors.email} autoComplete="username" required />
        <Field label="Password" type="password" value={password} onValue={setPassword} error={errors.password} autoComplete="current-password" required />
        <div class="actions">
          <Button type="submit" busy={action.busy}>Sign in</Button>
        </div>
      </form>
      <p><a href="/forgot-password">Forgot your password?</a></p>
      <p>New here? <a href={`/sign-up${query.next ? `?next=${encodeURIComponent(query.next)}` : ''}`}>Create an account</a></p>
    </Page>
  )
}
