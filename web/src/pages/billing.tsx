import { Page } from '../ui.js'

export function Billing() {
  return <Page title="Billing"><p>Coming next.</p></Page>
}
