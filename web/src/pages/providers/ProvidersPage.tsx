import { useQuery } from '@tanstack/react-query'
import { api } from '../../api'
import { Empty, ErrorBox, formatTime, Loading, PageHeader } from '../../components/ui'
import { useIsAdmin } from '../../session'
import './providers.css'

/** GET /v1/providers (docs/routing.md#seeing-it-run). */
interface ProviderInstance {
  name: string
  type: string
  settings: Record<string, unknown>
  mps: number | null
  callbackUrls: { status: string; inbound: string } | null
  prices: { country: string; price: number; currency: string }[]
  health: {
    sends: number
    successRate: number | null
    latencyP50Ms: number | null
    latencyP99Ms: number | null
    windowMs: number
    consecutiveFailures: number
  } | null
  circuit: {
    state: 'closed' | 'open' | 'half-open'
    openedAt: string | null
    nextProbeAt: string | null
  } | null
}
interface ProvidersAnswer {
  source: 'live' | 'snapshot'
  data: ProviderInstance[]
}
/** GET /v1/routes. */
interface RouteView {
  index: number
  match: { countries?: string[]; prefixes?: string[]; type?: string; from?: string } | null
  providers: string[]
  senders: { from: string; mps: number | null }[]
  failoverOnTimeout: boolean
}
interface RoutesAnswer {
  source: 'configuration' | 'default'
  data: RouteView[]
}

const REFRESH_MS = 3_000

const CIRCUIT_WORDS: Record<NonNullable<ProviderInstance['circuit']>['state'], string> = {
  closed: 'Closed: sending normally',
  open: 'Open: skipped, its messages go to the next provider of their route',
  'half-open': 'Half-open: one probe send is going through',
}

/**
 * Provider instances with their health and circuits, refreshed every 3 seconds, and the routes
 * in force (docs/dashboard.md#providers-and-routes). Admin only, as the routes are.
 */
export function ProvidersPage() {
  const admin = useIsAdmin()
  return (
    <div className="stack">
      <PageHeader title="Providers and routes" />
      {admin ? (
        <>
          <Providers />
          <Routes />
        </>
      ) : (
        <Empty title="Providers and routes are for administrators.">
          Ask an administrator about the gateways Switchboard sends through.
        </Empty>
      )}
    </div>
  )
}

function Providers() {
  const q = useQuery({
    queryKey: ['providers'],
    queryFn: () => api<ProvidersAnswer>('/v1/providers'),
    refetchInterval: REFRESH_MS,
  })
  return (
    <section className="stack" aria-labelledby="prov-instances">
      <h2 id="prov-instances">Provider instances</h2>
      {q.isPending ? <Loading what="the providers" /> : null}
      {q.error ? <ErrorBox error={q.error} title="Providers" /> : null}
      {q.data ? (
        <>
          <p className="muted">
            Health over the last 5 minutes and circuit state,{' '}
            {q.data.source === 'live'
              ? 'read live from the process that sends'
              : 'as the sending processes of the cluster last reported them'}
            ; refreshed every 3 seconds. Configured in <code>PROVIDERS</code>.
          </p>
          {q.data.data.length === 0 ? (
            <Empty title="No provider instance is configured.">
              Set <code>PROVIDERS</code> (docs/providers.md), or leave it unset to use the built-in
              simulator.
            </Empty>
          ) : (
            <div className="prov-grid">
              {q.data.data.map((p) => (
                <Instance key={p.name} p={p} />
              ))}
            </div>
          )}
        </>
      ) : null}
    </section>
  )
}

const percent = (r: number | null) =>
  r === null ? '—' : `${(Math.round(r * 1000) / 10).toLocaleString()}%`
const ms = (v: number | null) => (v === null ? '—' : `${v.toLocaleString()} ms`)
const show = (v: unknown): string =>
  v === null || v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v)

function Instance({ p }: { p: ProviderInstance }) {
  const headingId = `prov-${p.name}`
  const settings = Object.entries(p.settings)
  return (
    <article className="panel stack prov-card" aria-labelledby={headingId}>
      <h3 id={headingId} className="prov-title">
        <span className="mono">{p.name}</span> <span className="badge">{p.type}</span>
      </h3>
      <Circuit p={p} />
      <dl className="prov-facts">
        <dt>Success rate</dt>
        <dd>{p.health ? percent(p.health.successRate) : '—'}</dd>
        <dt>Latency p50 / p99</dt>
        <dd>{p.health ? `${ms(p.health.latencyP50Ms)} / ${ms(p.health.latencyP99Ms)}` : '—'}</dd>
        <dt>Sends (5 min)</dt>
        <dd>{p.health ? p.health.sends.toLocaleString() : '—'}</dd>
        <dt>Failures in a row</dt>
        <dd>{p.health ? p.health.consecutiveFailures : '—'}</dd>
        <dt>Pacing</dt>
        <dd>{p.mps === null ? 'no limit' : `${p.mps} segments/s`}</dd>
        {settings.map(([k, v]) => (
          <FactRow key={k} term={k} value={show(v)} />
        ))}
      </dl>
      {!p.health ? (
        <p className="muted">No health yet: no process that sends has reported it.</p>
      ) : null}
      <div>
        <h4>Callback URLs</h4>
        {p.callbackUrls ? (
          <dl className="prov-facts">
            <dt>Status</dt>
            <dd className="mono prov-url">{p.callbackUrls.status}</dd>
            <dt>Inbound</dt>
            <dd className="mono prov-url">{p.callbackUrls.inbound}</dd>
          </dl>
        ) : (
          <p className="muted">None: it reports in-process.</p>
        )}
      </div>
      <div>
        <h4>Prices</h4>
        {p.prices.length === 0 ? (
          <p className="muted">
            No price in <code>PRICES</code>: its sends record no estimated cost.
          </p>
        ) : (
          <div className="table-wrap">
            <table>
              <caption className="prov-sr">Prices of {p.name} per segment</caption>
              <thead>
                <tr>
                  <th scope="col">Country</th>
                  <th scope="col">Per segment</th>
                </tr>
              </thead>
              <tbody>
                {p.prices.map((e) => (
                  <tr key={e.country}>
                    <td>{e.country === '*' ? 'every other country (*)' : e.country}</td>
                    <td>
                      {e.price} {e.currency}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </article>
  )
}

function FactRow({ term, value }: { term: string; value: string }) {
  return (
    <>
      <dt>{term}</dt>
      <dd className="mono">{value}</dd>
    </>
  )
}

function Circuit({ p }: { p: ProviderInstance }) {
  if (!p.circuit) {
    return (
      <p className="prov-circuit">
        <span className="badge">circuit unknown</span>{' '}
        <span className="muted">not reported yet</span>
      </p>
    )
  }
  const { state, openedAt, nextProbeAt } = p.circuit
  return (
    <div className="prov-circuit">
      <p>
        <span className={`badge prov-state prov-${state}`}>circuit {state}</span>{' '}
        {CIRCUIT_WORDS[state]}
      </p>
      {state !== 'closed' ? (
        <p className="muted">
          Opened {formatTime(openedAt)}
          {nextProbeAt ? <>; next probe {formatTime(nextProbeAt)}</> : null}
        </p>
      ) : null}
    </div>
  )
}

function describeMatch(m: RouteView['match']): string {
  if (!m) return 'every message (default route)'
  const parts: string[] = []
  if (m.countries?.length) parts.push(`country ${m.countries.join(', ')}`)
  if (m.prefixes?.length) parts.push(`number starts ${m.prefixes.join(', ')}`)
  if (m.type) parts.push(`type ${m.type}`)
  if (m.from) parts.push(`from ${m.from}`)
  return parts.length ? parts.join('; ') : 'every message (default route)'
}

function Routes() {
  const q = useQuery({
    queryKey: ['routes'],
    queryFn: () => api<RoutesAnswer>('/v1/routes'),
  })
  return (
    <section className="stack" aria-labelledby="prov-routes">
      <h2 id="prov-routes">Routes</h2>
      {q.isPending ? <Loading what="the routes" /> : null}
      {q.error ? <ErrorBox error={q.error} title="Routes" /> : null}
      {q.data ? (
        <>
          <p className="muted">
            {q.data.source === 'default'
              ? 'No ROUTES configured: one default route over every provider instance, in PROVIDERS order.'
              : 'From ROUTES. A message takes the first route that matches it.'}
          </p>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Match</th>
                  <th scope="col">Providers, in order</th>
                  <th scope="col">Senders</th>
                  <th scope="col">Failover on timeout</th>
                </tr>
              </thead>
              <tbody>
                {q.data.data.map((r) => (
                  <tr key={r.index}>
                    <td>{r.index + 1}</td>
                    <td>{describeMatch(r.match)}</td>
                    <td>
                      <ol className="prov-order">
                        {r.providers.map((name) => (
                          <li key={name} className="mono">
                            {name}
                          </li>
                        ))}
                      </ol>
                    </td>
                    <td>
                      {r.senders.length === 0 ? (
                        <span className="muted">the provider’s default</span>
                      ) : (
                        <ul className="prov-order">
                          {r.senders.map((s) => (
                            <li key={s.from}>
                              <span className="mono">{s.from}</span>
                              {s.mps !== null ? ` (${s.mps}/s)` : ''}
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                    <td>{r.failoverOnTimeout ? 'yes' : 'no'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </section>
  )
}
