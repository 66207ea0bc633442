import { PageHeader } from '../../components/ui'

export function MessagesPage() {
  return <PageHeader title="Messages" />
}
