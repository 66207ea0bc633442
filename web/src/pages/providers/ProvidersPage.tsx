import { PageHeader } from '../../components/ui'

export function ProvidersPage() {
  return <PageHeader title="Providers and routes" />
}
