import { PageHeader } from '../../components/ui'

export function TemplatesPage(_props: { name?: string }) {
  return <PageHeader title="Templates" />
}
