// The console's frame: the router, the signed-in shell (navigation, workspace switcher, trial
// banner, approval state) and what happens on the API's session and trial answers: a 401 sends
// the person to sign in and back, a 402 opens the billing screen once (a soft redirect: reads
// stay open), a 403 on the workspace's state reloads that state so the screen shows why.
import { LocationProvider, Router, Route, useLocation } from 'preact-iso'
import { useEffect, useRef } from 'preact/hooks'
import type { ComponentChildren } from 'preact'
import { api, call, onFailure } from './api/client.js'
import { SessionProvider, stateMessage, useSession } from './session.js'
import { Alert, Button, Page } from './ui.js'
import { SignIn } from './pages/sign-in.js'
import { SignUp } from './pages/sign-up.js'
import { ForgotPassword, ResetPassword } from './pages/password.js'
import { VerifyEmail } from './pages/verify-email.js'
import { AcceptInvite } from './pages/accept-invite.js'
import { NewWorkspace, WorkspaceState } from './pages/workspaces.js'
import { Billing } from './pages/billing.js'
import { Contacts, ContactDetail } from './pages/contacts.js'
import { SecuritySettings } from './pages/security.js'
import { Team } from './pages/team.js'
import { AuditLog } from './pages/audit.js'
import { AdminWorkspaces } from './pages/admin.js'

/** Screens anyone may open; every other path needs a session. */
const PUBLIC = new Set(['/sign-in', '/sign-up', '/forgot-password', '/reset-password', '/verify-email', '/accept-invite'])

export function App() {
  return (
    <LocationProvider>
      <SessionProvider>
        <Routes />
      </SessionProvider>
    </LocationProvider>
  )
}

function Routes() {
  const { path, url, route } = useLocation()
  const session = useSession()
  const trialRedirected = useRef(false)

  useEffect(
    () =>
      onFailure((failure) => {
        if (failure.code === 'unauthenticated' && !PUBLIC.has(location.pathname)) {
          void session.refresh()
          route(`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`)
        } else if (failure.code === 'trial_expired') {
          void session.refreshWorkspace()
          if (!trialRedirected.current) {
            trialRedirected.current = true
            route('/billing')
          }
        } else if (failure.code.startsWith('workspace_') && failure.code !== 'workspace_limit_reached') {
          void session.refreshWorkspace()
        }
      }),
    [session, route],
  )

  // Once the workspace's trial is over, the first workspace screen opened goes to billing.
  useEffect(() => {
    if (session.workspace?.trial.expired && !trialRedirected.current && WORKSPACE_SCREENS.some((p) => path.startsWith(p))) {
      trialRedirected.current = true
      route('/billing', true)
    }
  }, [session.workspace, path, route])

  if (session.user === undefined) return <p class="loading" role="status">Loading…</p>
  if (!session.user && !PUBLIC.has(path)) {
    return <Redirect to={`/sign-in?next=${encodeURIComponent(url)}`} />
  }

  const routes = (
    <Router>
      <Route path="/" component={Home} />
      <Route path="/sign-in" component={SignIn} />
      <Route path="/sign-up" component={SignUp} />
      <Route path="/forgot-password" component={ForgotPassword} />
      <Route path="/reset-password" component={ResetPassword} />
      <Route path="/verify-email" component={VerifyEmail} />
      <Route path="/accept-invite" component={AcceptInvite} />
      <Route path="/workspaces/new" component={NewWorkspace} />
      <Route path="/billing" component={Billing} />
      <Route path="/contacts" component={Contacts} />
      <Route path="/contacts/:id" component={ContactDetail} />
      <Route path="/team" component={Team} />
      <Route path="/audit" component={AuditLog} />
      <Route path="/settings/security" component={SecuritySettings} />
      <Route path="/admin/workspaces" component={AdminWorkspaces} />
      <Route default component={NotFound} />
    </Router>
  )
  if (!session.user) return <main id="main" class="public">{routes}</main>
  return <Shell>{routes}</Shell>
}

/** Screens that belong to the chosen workspace (they get the trial banner and the state screens). */
const WORKSPACE_SCREENS = ['/contacts', '/team', '/audit']

function Shell(props: { children: ComponentChildren }) {
  const session = useSession()
  const { path, route } = useLocation()
  const user = session.user!
  const ws = session.workspace
  const inWorkspace = WORKSPACE_SCREENS.some((p) => path.startsWith(p)) || path === '/billing'
  const closed = inWorkspace && path !== '/billing' && ws && (ws.status === 'rejected' || ws.status === 'suspended')

  const signOut = async () => {
    try {
      await call(api.POST('/api/auth/logout'))
    } finally {
      await session.refresh()
      route('/sign-in')
    }
  }

  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href="/">Gatehouse</a>
        <nav aria-label="Main">
          <ul>
            {session.workspaceId && <li><a href="/contacts" aria-current={path.startsWith('/contacts') ? 'page' : undefined}>Contacts</a></li>}
            {session.workspaceId && <li><a href="/team" aria-current={path === '/team' ? 'page' : undefined}>Team</a></li>}
            {session.workspaceId && <li><a href="/audit" aria-current={path === '/audit' ? 'page' : undefined}>Audit log</a></li>}
            {session.workspaceId && <li><a href="/billing" aria-current={path === '/billing' ? 'page' : undefined}>Billing</a></li>}
            <li><a href="/settings/security" aria-current={path === '/settings/security' ? 'page' : undefined}>Security</a></li>
            {user.isPlatformAdmin && <li><a href="/admin/workspaces" aria-current={path === '/admin/workspaces' ? 'page' : undefined}>Admin</a></li>}
          </ul>
        </nav>
        <div class="account">
          {session.memberships.length > 1 && (
            <select class="switcher" aria-label="Workspace" value={session.workspaceId ?? ''} onChange={(e) => session.chooseWorkspace(e.currentTarget.value)}>
              {session.memberships.map((m) => <option key={m.workspaceId} value={m.workspaceId}>{m.name}</option>)}
            </select>
          )}
          {session.memberships.length === 1 && <span class="ws-name">{session.memberships[0]!.name}</span>}
          <span class="who">{user.name}</span>
          <Button kind="secondary" onClick={() => void signOut()}>Sign out</Button>
        </div>
      </header>
      {!user.emailVerified && (
        <Alert kind="warning">Verify your email address: open the link we sent to {user.email}. <ResendVerification /></Alert>
      )}
      {inWorkspace && ws && <WorkspaceBanner />}
      <main id="main">{closed ? <WorkspaceState /> : props.children}</main>
    </>
  )
}

/** The trial banner (days left, or over) and the pending-approval notice, on every workspace screen. */
function WorkspaceBanner() {
  const { workspace: ws } = useSession()
  if (!ws) return null
  if (ws.status === 'pending_approval') return <Alert kind="info">{stateMessage(ws.status)}</Alert>
  if (ws.status !== 'active') return null
  if (ws.trial.expired) {
    return <Alert kind="warning">The trial has ended. Everything stays readable; changes are paused. <a href="/billing">Subscribe</a></Alert>
  }
  if (ws.trial.endsAt && ws.billing.status !== 'active') {
    const days = ws.trial.daysLeft ?? 0
    return (
      <div class="trial-banner" role="status">
        Trial: {days === 1 ? '1 day' : `${days} days`} left. <a href="/billing">Billing</a>
      </div>
    )
  }
  return null
}

function ResendVerification() {
  const sent = useRef(false)
  const send = async (e: Event) => {
    const button = e.currentTarget as HTMLButtonElement
    button.disabled = true
    try {
      await call(api.POST('/api/auth/verify-email/resend'))
      sent.current = true
      button.textContent = 'Sent — check your inbox'
    } catch {
      button.disabled = false
      button.textContent = 'Could not send; try again'
    }
  }
  return <button type="button" class="btn btn-link" onClick={(e) => void send(e)}>Send the link again</button>
}

function Home() {
  const session = useSession()
  if (!session.workspaceId) return <Redirect to="/workspaces/new" />
  return <Redirect to="/contacts" />
}

export function Redirect(props: { to: string }) {
  const { route } = useLocation()
  useEffect(() => route(props.to, true), [props.to, route])
  return null
}

function NotFound() {
  return (
    <Page title="Page not found">
      <p>There is nothing at this address. <a href="/">Go to the start</a>.</p>
    </Page>
  )
}
