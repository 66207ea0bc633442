import { PageHeader } from '../../components/ui'

export function MessageDetail(_props: { id: string }) {
  return <PageHeader title="Message" />
}
