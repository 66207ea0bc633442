import { PageHeader } from '../../components/ui'

export function ContactsPage(_props: { phone?: string }) {
  return <PageHeader title="Contacts" />
}
