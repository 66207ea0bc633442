import { PageHeader } from '../../components/ui'

export function SimulatorPage(_props: { number?: string }) {
  return <PageHeader title="Simulator phones" />
}
