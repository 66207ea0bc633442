import { useQuery } from '@tanstack/react-query'
import { api } from '../../api'
import { ErrorBox, Loading } from '../../components/ui'
import type { ProviderInstance } from './types'
import { TableWrap } from './TableWrap'

const percent = (v: number | null | undefined) =>
  v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)} %`
const ms = (v: number | null | undefined) =>
  v === null || v === undefined ? '—' : `${v.toLocaleString()} ms`

/** Provider health at a glance (admins only: GET /v1/providers takes the admin scope). */
export function ProviderHealth() {
  const q = useQuery({
    queryKey: ['providers', 'health'],
    queryFn: () => api<{ source: string; data: ProviderInstance[] }>('/v1/providers'),
    refetchInterval: 5_000,
  })
  return (
    <section className="panel" aria-labelledby="provider-health">
      <h2 id="provider-health">Provider health</h2>
      {q.isPending ? <Loading what="provider health" /> : null}
      <ErrorBox error={q.error} title="Provider health" />
      {q.data ? (
        q.data.data.length === 0 ? (
          <p className="muted">No provider is configured (PROVIDERS).</p>
        ) : (
          <TableWrap label="Provider health table">
            <table>
              <caption className="visually-hidden">
                Circuit state, success rate and latency of each provider instance, refreshed every 5
                seconds
              </caption>
              <thead>
                <tr>
                  <th scope="col">Instance</th>
                  <th scope="col">Circuit</th>
                  <th scope="col">Success rate</th>
                  <th scope="col">Latency p50</th>
                  <th scope="col">Latency p99</th>
                  <th scope="col">Recent sends</th>
                </tr>
              </thead>
              <tbody>
                {q.data.data.map((p) => (
                  <tr key={p.name}>
                    <th scope="row">
                      {p.name} <span className="muted">({p.type})</span>
                    </th>
                    <td className={p.circuit ? `circuit-${p.circuit.state}` : undefined}>
                      {p.circuit?.state ?? 'not reported'}
                    </td>
                    <td>{percent(p.health?.successRate)}</td>
                    <td>{ms(p.health?.latencyP50Ms)}</td>
                    <td>{ms(p.health?.latencyP99Ms)}</td>
                    <td>{p.health ? p.health.sends.toLocaleString() : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )
      ) : null}
    </section>
  )
}
