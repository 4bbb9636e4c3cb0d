import { Page } from '../ui.js'

export function AdminWorkspaces() {
  return <Page title="AdminWorkspaces"><p>Coming next.</p></Page>
}
