// Billing: where the console sends a workspace whose trial is over (once: a soft redirect), and
// what its owner sees of the subscription. Subscriptions are handled by the billing provider,
// whose webhook tells the service; there is no checkout here. Reads stay open meanwhile.
import { useEffect, useState } from 'preact/hooks'
import { api, call } from '../api/client.js'
import { useSession } from '../session.js'
import { Alert, Button, Page, formatTime, useLoad } from '../ui.js'

const STATUS: Record<string, string> = {
  none: 'No subscription',
  trialing: 'Trialing',
  active: 'Subscribed',
  past_due: 'Payment overdue',
  canceled: 'Cancelled',
  unpaid: 'Unpaid',
}

function OwnerBilling() {
  const billing = useLoad(() => call(api.GET('/api/workspace/billing')), [])
  if (billing.error) return <Alert>{billing.error}</Alert>
  if (!billing.data) return <p role="status">Loading…</p>
  const b = billing.data
  return (
    <dl class="facts card">
      <dt>Subscription</dt><dd>{STATUS[b.status] ?? b.status}</dd>
      <dt>Trial ends</dt><dd>{formatTime(b.trialEndsAt)}</dd>
      <dt>Current period ends</dt><dd>{formatTime(b.currentPeriodEnd)}</dd>
      {b.graceEndsAt && <><dt>Changes allowed until</dt><dd>{formatTime(b.graceEndsAt)}</dd></>}
    </dl>
  )
}

export function Billing() {
  const session = useSession()
  const { workspace, refreshWorkspace } = session
  // Fresh state once on opening (the trial may have just ended); `checked` tells a workspace
  // that could not be loaded from one still loading.
  const [checked, setChecked] = useState(false)
  useEffect(() => {
    let alive = true
    void refreshWorkspace().finally(() => alive && setChecked(true))
    return () => void (alive = false)
  }, [refreshWorkspace])
  const role = session.memberships.find((m) => m.workspaceId === session.workspaceId)?.role

  if (!session.workspaceId) {
    return (
      <Page title="Billing">
        <p>You are not in a workspace yet. <a href="/workspaces/new">Create a workspace</a>.</p>
      </Page>
    )
  }
  if (!workspace) {
    return (
      <Page title="Billing">
        {checked ? (
          <>
            <Alert>The workspace's state could not be loaded. Please try again.</Alert>
            <Button kind="secondary" onClick={() => { setChecked(false); void refreshWorkspace().finally(() => setChecked(true)) }}>Try again</Button>
          </>
        ) : (
          <p role="status">Loading…</p>
        )}
      </Page>
    )
  }
  const subscribed = workspace.billing.status === 'active' || workspace.billing.status === 'trialing'
  return (
    <Page title="Billing">
      {workspace.trial.expired ? (
        <>
          <Alert kind="warning">
            The trial of {workspace.name} has ended. Everything stays readable, but changes are paused until the workspace subscribes.
          </Alert>
          <p><a href="/contacts">Continue to contacts (read-only)</a></p>
        </>
      ) : subscribed ? (
        <p><strong>Subscribed</strong>: {workspace.name} has a subscription.</p>
      ) : workspace.trial.endsAt ? (
        <p>The trial of {workspace.name} ends {formatTime(workspace.trial.endsAt)} ({workspace.trial.daysLeft === 1 ? '1 day' : `${workspace.trial.daysLeft ?? 0} days`} left).</p>
      ) : (
        <p>The trial of {workspace.name} starts when the workspace is approved.</p>
      )}
      <h2>Subscription</h2>
      <p>
        Subscriptions are handled by the billing provider, which tells Gatehouse when one starts, renews or ends; there is no checkout in
        this console. {role === 'owner' ? 'Subscribe through your billing provider\'s customer portal.' : 'Ask the workspace owner to subscribe through your billing provider\'s customer portal.'}
      </p>
      {role === 'owner' ? <OwnerBilling /> : <p class="muted">Only the workspace owner manages billing.</p>}
    </Page>
  )
}
