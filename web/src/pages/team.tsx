import { Page } from '../ui.js'

export function Team() {
  return <Page title="Team"><p>Coming next.</p></Page>
}
