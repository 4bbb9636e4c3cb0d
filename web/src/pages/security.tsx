// Security settings for the signed-in person: two-factor authentication (set up with a QR code,
// backup codes shown once, new codes, turning it off), the sessions signed in to the account
// (sign one or all the others out), and changing the password. Account-level, so plain Buttons.
import { useEffect, useRef, useState } from 'preact/hooks'
import { renderSVG } from 'uqr'
import { api, call } from '../api/client.js'
import { useSession } from '../session.js'
import { Alert, Button, Field, Page, formatTime, useAction, useLoad } from '../ui.js'
import * as v from '../validate.js'

export function SecuritySettings() {
  // Bumped when something signs other sessions out (MFA turned on, password changed).
  const [sessionsVersion, setSessionsVersion] = useState(0)
  const sessionsChanged = () => setSessionsVersion((n) => n + 1)
  return (
    <Page title="Security">
      <TwoFactor onSessionsChanged={sessionsChanged} />
      <Sessions version={sessionsVersion} />
      <PasswordChange onSessionsChanged={sessionsChanged} />
    </Page>
  )
}

// ---------------------------------------------------------------- Two-factor authentication

function TwoFactor(props: { onSessionsChanged: () => void }) {
  const session = useSession()
  const state = useLoad(() => call(api.GET('/api/settings/security')), [])
  const [codes, setCodes] = useState<string[] | null>(null)
  const [turnedOff, setTurnedOff] = useState(false)

  // Turning it on or off and new backup codes each rotate this session and sign out the others.
  const enabled = async (backupCodes: string[]) => {
    setTurnedOff(false)
    setCodes(backupCodes)
    await session.refresh()
    await state.reload()
    props.onSessionsChanged()
  }

  const regenerated = async (backupCodes: string[]) => {
    setCodes(backupCodes)
    await state.reload()
    props.onSessionsChanged()
  }

  const disabled = async () => {
    setCodes(null)
    setTurnedOff(true)
    await session.refresh()
    await state.reload()
    props.onSessionsChanged()
  }

  return (
    <section class="card">
      <h2>Two-factor authentication</h2>
      {state.error && <Alert>{state.error}</Alert>}
      {!state.data && state.loading && <p class="muted">Loading…</p>}
      {codes && <BackupCodes codes={codes} onDone={() => setCodes(null)} />}
      {turnedOff && state.data && !state.data.mfaEnabled && (
        <Alert kind="success">Two-factor authentication is off. Your other sessions were signed out.</Alert>
      )}
      {state.data && !state.data.mfaEnabled && <MfaSetup onEnabled={enabled} />}
      {state.data?.mfaEnabled && (
        <>
          <p>{`Two-factor authentication is on. Backup codes remaining: ${state.data.backupCodesRemaining}.`}</p>
          <NewBackupCodes onCodes={regenerated} />
          <MfaDisable onDisabled={disabled} />
        </>
      )}
    </section>
  )
}

function qrDataUrl(text: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(renderSVG(text, { border: 2 }))}`
}

/** The key in groups of four, easier to type (authenticator apps ignore the spaces). */
function groupKey(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ')
}

function MfaSetup(props: { onEnabled: (backupCodes: string[]) => Promise<void> }) {
  const [step, setStep] = useState<'off' | 'password' | 'scan'>('off')
  const [password, setPassword] = useState('')
  const [code, setCode] = useState('')
  const [setup, setSetup] = useState<{ secret: string; otpauthUrl: string } | null>(null)
  const [errors, setErrors] = useState<Record<string, string | null>>({})
  const action = useAction()

  const cancel = () => {
    setStep('off')
    setPassword('')
    setCode('')
    setSetup(null)
    setErrors({})
    action.setError(null)
  }

  const submitPassword = async (e: Event) => {
    e.preventDefault()
    const found = { password: v.required(password, 'Your current password') }
    setErrors(found)
    if (found.password) return
    const result = await action.run(() => call(api.POST('/api/settings/security/mfa/setup', { body: { password } })))
    if (!result.ok) return
    setPassword('')
    setSetup(result.value)
    setStep('scan')
  }

  const submitCode = async (e: Event) => {
    e.preventDefault()
    const found = { code: v.totp(code) }
    setErrors(found)
    if (found.code) return
    const result = await action.run(() => call(api.POST('/api/settings/security/mfa/enable', { body: { code: code.replace(/\s/g, '') } })))
    if (!result.ok) return
    setCode('')
    await props.onEnabled(result.value.backupCodes)
  }

  if (step === 'off') {
    return (
      <>
        <p>Two-factor authentication is off. Turn it on to ask for a code from an authenticator app each time you sign in, so a stolen password is not enough.</p>
        <Button onClick={() => setStep('password')}>Set up two-factor authentication</Button>
      </>
    )
  }

  if (step === 'password' || !setup) {
    return (
      <form onSubmit={(e) => void submitPassword(e)} noValidate>
        {action.error && <Alert>{action.error}</Alert>}
        <Field label="Current password" type="password" value={password} onValue={setPassword} error={errors.password}
          autoComplete="current-password" required autoFocus hint="To make sure it is you before adding an authenticator." />
        <div class="actions">
          <Button type="submit" busy={action.busy}>Continue</Button>
          <Button kind="secondary" onClick={cancel}>Cancel</Button>
        </div>
      </form>
    )
  }

  return (
    <>
      <p>Scan this QR code with your authenticator app (such as Google Authenticator, 1Password or Authy).</p>
      <img class="qr" alt="QR code for your authenticator app" src={qrDataUrl(setup.otpauthUrl)} width={220} height={220} />
      <p>
        Or type this key: <code class="secret">{groupKey(setup.secret)}</code>
      </p>
      <form onSubmit={(e) => void submitCode(e)} noValidate>
        {action.error && <Alert>{action.error}</Alert>}
        <Field label="Authentication code" value={code} onValue={setCode} error={errors.code} inputMode="numeric"
          autoComplete="one-time-code" required hint="The 6-digit code your authenticator app shows now." />
        <div class="actions">
          <Button type="submit" busy={action.busy}>Turn on</Button>
          <Button kind="secondary" onClick={cancel}>Cancel</Button>
        </div>
      </form>
    </>
  )
}

function downloadCodes(codes: string[]) {
  const text = [
    'Gatehouse backup codes',
    'Each code works once, in place of an authentication code when you sign in.',
    '',
    ...codes,
    '',
  ].join('\n')
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }))
  const link = document.createElement('a')
  link.href = url
  link.download = 'gatehouse-backup-codes.txt'
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 0)
}

function BackupCodes(props: { codes: string[]; onDone: () => void }) {
  // The form that produced them is gone: move focus here so a screen reader hears the codes.
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => heading.current?.focus(), [props.codes])
  return (
    <div class="backup-codes">
      <h3 tabIndex={-1} ref={heading}>Your backup codes</h3>
      <Alert kind="info">
        Save these backup codes somewhere safe. Each one works once, in place of an authentication code, if you
        lose your phone. They will not be shown again.
      </Alert>
      <ul class="codes">
        {props.codes.map((c) => <li key={c}>{c}</li>)}
      </ul>
      <div class="actions">
        <Button kind="secondary" onClick={() => downloadCodes(props.codes)}>Download codes</Button>
        <Button onClick={props.onDone}>I have saved my codes</Button>
      </div>
    </div>
  )
}

function NewBackupCodes(props: { onCodes: (codes: string[]) => Promise<void> }) {
  const [code, setCode] = useState('')
  const [error, setError] = useState<string | null>(null)
  const action = useAction()

  const submit = async (e: Event) => {
    e.preventDefault()
    const problem = v.totp(code)
    setError(problem)
    if (problem) return
    const result = await action.run(() => call(api.POST('/api/settings/security/backup-codes', { body: { code: code.replace(/\s/g, '') } })))
    if (!result.ok) return
    setCode('')
    await props.onCodes(result.value.backupCodes)
  }

  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <h3>New backup codes</h3>
      <p>New codes replace all the old ones, and your other sessions are signed out.</p>
      {action.error && <Alert>{action.error}</Alert>}
      <Field label="Authentication code for new backup codes" value={code} onValue={setCode} error={error} inputMode="numeric"
        autoComplete="one-time-code" required hint="The 6-digit code your authenticator app shows now." />
      <div class="actions">
        <Button type="submit" busy={action.busy}>Generate new backup codes</Button>
      </div>
    </form>
  )
}

function MfaDisable(props: { onDisabled: () => Promise<void> }) {
  const [password, setPassword] = useState('')
  const [code, setCode] = useState('')
  const [errors, setErrors] = useState<Record<string, string | null>>({})
  const action = useAction()

  const submit = async (e: Event) => {
    e.preventDefault()
    const found = { password: v.required(password, 'Password'), code: v.totp(code) }
    setErrors(found)
    if (found.password || found.code) return
    const result = await action.run(() => call(api.POST('/api/settings/security/mfa/disable', { body: { password, code: code.replace(/\s/g, '') } })))
    if (!result.ok) return
    setPassword('')
    setCode('')
    await props.onDisabled()
  }

  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <h3>Turn off</h3>
      <p>Without two-factor authentication, your password alone signs in to your account. Your other sessions are signed out.</p>
      {action.error && <Alert>{action.error}</Alert>}
      <Field label="Password" type="password" value={password} onValue={setPassword} error={errors.password}
        autoComplete="current-password" required />
      <Field label="Authentication code to turn off" value={code} onValue={setCode} error={errors.code} inputMode="numeric"
        autoComplete="one-time-code" required />
      <div class="actions">
        <Button type="submit" kind="danger" busy={action.busy}>Turn off two-factor authentication</Button>
      </div>
    </form>
  )
}

// ---------------------------------------------------------------- Sessions

/** A short readable summary of a user agent: "Chrome on Linux", "Safari on iPhone". */
export function deviceSummary(userAgent: string | null): string {
  if (!userAgent) return 'Unknown device'
  const ua = userAgent
  const browser =
    /\bEdg(e|A|iOS)?\//.test(ua) ? 'Edge'
    : /\b(OPR|Opera)\//.test(ua) ? 'Opera'
    : /\bSamsungBrowser\//.test(ua) ? 'Samsung Internet'
    : /\b(Firefox|FxiOS)\//.test(ua) ? 'Firefox'
    : /\bChromium\//.test(ua) ? 'Chromium'
    : /\b(HeadlessChrome|Chrome|CriOS)\//.test(ua) ? 'Chrome'
    : /\bSafari\//.test(ua) && /\bVersion\//.test(ua) ? 'Safari'
    : null
  const os =
    /\biPhone\b/.test(ua) ? 'iPhone'
    : /\biPad\b/.test(ua) ? 'iPad'
    : /\bAndroid\b/.test(ua) ? 'Android'
    : /\bCrOS\b/.test(ua) ? 'ChromeOS'
    : /\bWindows\b/.test(ua) ? 'Windows'
    : /\bMac OS X\b|\bMacintosh\b/.test(ua) ? 'macOS'
    : /\bLinux\b|\bX11\b/.test(ua) ? 'Linux'
    : null
  if (browser && os) return `${browser} on ${os}`
  if (browser) return browser
  // Not a known browser (a script, an app): its first product name, kept short.
  const product = (/^[A-Za-z][\w.-]*/.exec(ua)?.[0] ?? '').slice(0, 30)
  const name = product && product !== 'Mozilla' ? product : 'Unknown browser'
  return os ? `${name} on ${os}` : name
}

function Sessions(props: { version: number }) {
  const list = useLoad(() => call(api.GET('/api/auth/sessions')), [props.version])
  const action = useAction()
  // Which sign-out is running: a session's id, or 'others'; the other buttons wait meanwhile.
  const [pending, setPending] = useState<string | null>(null)

  const signOut = async (id: string) => {
    setPending(id)
    const result = await action.run(() => call(api.DELETE('/api/auth/sessions/{id}', { params: { path: { id } } })))
    setPending(null)
    if (result.ok) await list.reload()
  }

  const signOutOthers = async () => {
    setPending('others')
    const result = await action.run(() => call(api.DELETE('/api/auth/sessions')))
    setPending(null)
    if (result.ok) await list.reload()
  }

  const sessions = list.data?.sessions ?? []
  const others = sessions.filter((s) => !s.current)

  return (
    <section class="card">
      <h2>Sessions</h2>
      <p>The browsers and devices signed in to your account. Sign out any you do not recognise.</p>
      {list.error && <Alert>{list.error}</Alert>}
      {action.error && <Alert>{action.error}</Alert>}
      {!list.data && list.loading && <p class="muted">Loading…</p>}
      {list.data && (
        // Focusable so a keyboard can scroll it when it is wider than a phone screen.
        <div class="table-wrap sessions-table" tabIndex={0} role="region" aria-label="Table of signed-in sessions">
          <table>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">IP</th>
                <th scope="col">Signed in</th>
                <th scope="col">Last active</th>
                <th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((s) => {
                const summary = deviceSummary(s.userAgent)
                return (
                  <tr key={s.id}>
                    <td>
                      <span title={s.userAgent ?? undefined}>{summary}</span>
                      {/* The full user agent under the summary; on a phone only the summary (it is in the title). */}
                      {s.userAgent && <>{' '}<span class="muted user-agent">{s.userAgent}</span></>}
                    </td>
                    <td class="ip">{s.ip ?? '—'}</td>
                    <td>{formatTime(s.createdAt)}</td>
                    <td>{formatTime(s.lastSeenAt)}</td>
                    <td>
                      {s.current ? (
                        <span class="muted">This session</span>
                      ) : (
                        <Button kind="secondary" busy={pending === s.id} disabled={action.busy} onClick={() => void signOut(s.id)}
                          aria-label={`Sign out the session from ${summary} (${s.ip ?? 'unknown IP'})`}>
                          Sign out
                        </Button>
                      )}
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
      {others.length > 0 && (
        <div class="actions">
          <Button kind="danger" busy={pending === 'others'} disabled={action.busy} onClick={() => void signOutOthers()}>
            Sign out all other sessions
          </Button>
        </div>
      )}
    </section>
  )
}

// ---------------------------------------------------------------- Password

function PasswordChange(props: { onSessionsChanged: () => void }) {
  const [currentPassword, setCurrentPassword] = useState('')
  const [newPassword, setNewPassword] = useState('')
  const [errors, setErrors] = useState<Record<string, string | null>>({})
  const [changed, setChanged] = useState(false)
  const action = useAction()

  const submit = async (e: Event) => {
    e.preventDefault()
    setChanged(false)
    const found = { currentPassword: v.required(currentPassword, 'Your current password'), newPassword: v.newPassword(newPassword) }
    setErrors(found)
    if (found.currentPassword || found.newPassword) return
    const result = await action.run(() => call(api.POST('/api/settings/security/password', { body: { currentPassword, newPassword } })))
    if (!result.ok) return
    setCurrentPassword('')
    setNewPassword('')
    setChanged(true)
    props.onSessionsChanged()
  }

  return (
    <section class="card">
      <h2>Password</h2>
      <form onSubmit={(e) => void submit(e)} noValidate>
        {changed && <Alert kind="success">Password changed. Your other sessions were signed out.</Alert>}
        {action.error && <Alert>{action.error}</Alert>}
        <Field label="Your current password" type="password" value={currentPassword} onValue={setCurrentPassword}
          error={errors.currentPassword} autoComplete="current-password" required />
        <Field label="New password" type="password" value={newPassword} onValue={setNewPassword} error={errors.newPassword}
          autoComplete="new-password" required maxLength={256}
          hint="At least 10 characters. Changing it signs out your other sessions." />
        <div class="actions">
          <Button type="submit" busy={action.busy}>Change password</Button>
        </div>
      </form>
    </section>
  )
}
