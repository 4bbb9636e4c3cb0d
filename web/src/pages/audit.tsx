import { Page } from '../ui.js'

export function AuditLog() {
  return <Page title="AuditLog"><p>Coming next.</p></Page>
}
