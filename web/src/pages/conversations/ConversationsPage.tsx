import { PageHeader } from '../../components/ui'

export function ConversationsPage(_props: { id?: string }) {
  return <PageHeader title="Conversations" />
}
