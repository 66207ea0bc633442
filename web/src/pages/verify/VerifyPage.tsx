import { PageHeader } from '../../components/ui'

export function VerifyPage() {
  return <PageHeader title="Verify" />
}
