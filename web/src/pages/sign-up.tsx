// Sign up: name, email and a password, checked here as the service checks them; the service
// then emails a verification link and signs the new account in.
import { useState } from 'preact/hooks'
import { useLocation } from 'preact-iso'
import { api, call } from '../api/client.js'
import { useSession } from '../session.js'
import { Alert, Button, Field, Page, useAction } from '../ui.js'
import * as v from '../validate.js'
import { safeNext } from './sign-in.js'

export function SignUp() {
  const { query, route } = useLocation()
  const session = useSession()
  const [name, setName] = useState('')
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [errors, setErrors] = useState<Record<string, string | null>>({})
  const action = useAction()

  const submit = async (e: Event) => {
    e.preventDefault()
    const found = { name: v.name(name), email: v.email(email), password: v.newPassword(password) }
    setErrors(found)
    if (Object.values(found).some(Boolean)) return
    const result = await action.run(() => call(api.POST('/api/auth/register', { body: { name: name.trim(), email: email.trim(), password } })))
    if (!result.ok) return
    await session.refresh()
    route(safeNext(query.next))
  }

  return (
    <Page title="Create your account" narrow>
      <form onSubmit={(e) => void submit(e)} noValidate>
        {action.error && <Alert>{action.error}</Alert>}
        <Field label="Your name" value={name} onValue={setName} error={errors.name} autoComplete="name" required maxLength={200} />
        <Field label="Work email" type="email" value={email} onValue={setEmail} error={errors.email} autoComplete="email" required />
        <Field label="Password" type="password" value={password} onValue={setPassword} error={errors.password} autoComplete="new-password" required
          hint="At least 10 characters. Not a common password, and not your name or email." />
        <Button type="submit" busy={action.busy}>Create account</Button>
      </form>
      <p>Already have an account? <a href="/sign-in">Sign in</a></p>
    </Page>
  )
}
