import { Page } from '../ui.js'

export function SecuritySettings() {
  return <Page title="SecuritySettings"><p>Coming next.</p></Page>
}
