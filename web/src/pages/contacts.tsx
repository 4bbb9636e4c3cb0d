import { Page } from '../ui.js'

export function Contacts() {
  return <Page title="Contacts"><p>Coming next.</p></Page>
}

export function ContactDetail() {
  return <Page title="Contact"><p>Coming next.</p></Page>
}
