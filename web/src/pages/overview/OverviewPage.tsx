import { useQuery } from '@tanstack/react-query'
import { useMemo, useState } from 'react'
import { Link } from 'wouter'
import { api } from '../../api'
import { Empty, ErrorBox, formatTime, Loading, PageHeader } from '../../components/ui'
import { useIsAdmin } from '../../session'
import { Chart, type ChartSeries } from './Chart'
import { ProviderHealth } from './ProviderHealth'
import type { Cost, Stats } from './types'
import './overview.css'
import { TableWrap } from './TableWrap'

const DAY = 86_400_000

/** The periods the picker offers: how far back, and the bucket size. */
export const PERIODS = [
  { id: '24h', label: 'Last 24 hours', ms: DAY, granularity: 'hour' },
  { id: '7d', label: 'Last 7 days', ms: 7 * DAY, granularity: 'hour' },
  { id: '30d', label: 'Last 30 days', ms: 30 * DAY, granularity: 'day' },
] as const
type PeriodId = (typeof PERIODS)[number]['id']

const hourLabel = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
})
const dayLabel = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' })

const int = (v: number | null) => (v === null ? '—' : Math.round(v).toLocaleString())
const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`)
const money = (c: Cost) =>
  c.currency
    ? new Intl.NumberFormat(undefined, {
        style: 'currency',
        currency: c.currency,
        maximumFractionDigits: 4,
      }).format(c.amount)
    : c.amount.toFixed(4)
const ms = (v: number | null) =>
  v === null ? '—' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toLocaleString()} ms`

const CURL = `curl -X POST http://localhost:3000/v1/messages \\
  -H "Authorization: Bearer $SWITCHBOARD_API_KEY" -H "Content-Type: application/json" \\
  -d '{"to":"+15555550100","body":"Hello from Switchboard"}'`

export function OverviewPage() {
  const isAdmin = useIsAdmin()
  const [period, setPeriod] = useState<PeriodId>('7d')
  const chosen = PERIODS.find((p) => p.id === period) ?? PERIODS[1]
  const stats = useQuery({
    queryKey: ['stats', period],
    queryFn: () =>
      api<Stats>('/v1/stats', {
        query: {
          from: new Date(Date.now() - chosen.ms).toISOString(),
          granularity: chosen.granularity,
        },
      }),
    refetchInterval: 30_000,
  })

  return (
    <div className="stack">
      <PageHeader title="Overview" />
      <div role="group" aria-labelledby="period-label" className="period-picker">
        <span id="period-label" className="visually-hidden">
          Period
        </span>
        {PERIODS.map((p) => (
          <button
            key={p.id}
            type="button"
            aria-pressed={p.id === period}
            onClick={() => setPeriod(p.id)}
          >
            {p.label}
          </button>
        ))}
      </div>
      {stats.isPending ? <Loading what="statistics" /> : null}
      <ErrorBox error={stats.error} title="Statistics" />
      {stats.data ? <StatsView stats={stats.data} label={chosen.label} /> : null}
      {isAdmin ? <ProviderHealth /> : null}
    </div>
  )
}

function StatsView({ stats, label }: { stats: Stats; label: string }) {
  const t = stats.totals
  const times = useMemo(() => stats.points.map((p) => Date.parse(p.start) / 1000), [stats])
  const timeLabel = (s: number) =>
    (stats.granularity === 'hour' ? hourLabel : dayLabel).format(new Date(s * 1000))
  const mainCurrency = t.cost[0]?.currency ?? null
  const charts = useMemo(() => {
    const col = <K extends keyof Stats['points'][number]>(k: K) => stats.points.map((p) => p[k])
    const volume: ChartSeries[] = [
      { label: 'Sent', values: col('messages'), color: '#1f4f8f' },
      { label: 'Delivered', values: col('delivered'), color: '#1a7f37' },
      { label: 'Failed', values: col('failed'), color: '#b42318' },
    ]
    const rate: ChartSeries[] = [
      { label: 'Delivery rate', values: col('deliveryRate'), color: '#1a7f37', format: pct },
    ]
    const segments: ChartSeries[] = [
      { label: 'Segments', values: col('segments'), color: '#6639ba' },
      {
        label: `Cost (${mainCurrency ?? 'no currency'})`,
        values: stats.points.map(
          (p) => p.cost.find((c) => c.currency === mainCurrency)?.amount ?? 0,
        ),
        color: '#8a5a00',
        format: (v) => (v === null ? '—' : money({ currency: mainCurrency, amount: v })),
      },
    ]
    const people: ChartSeries[] = [
      { label: 'Opt-outs', values: col('optOuts'), color: '#b42318' },
      { label: 'Inbound', values: col('inbound'), color: '#1f4f8f' },
    ]
    return { volume, rate, segments, people }
  }, [stats, mainCurrency])

  if (t.messages === 0 && t.inbound === 0 && t.optOuts === 0) {
    return (
      <Empty title={`No messages in the ${label.toLowerCase()}`}>
        <p>
          Send your first message from <Link href="/messages">Messages</Link>, or with curl:
        </p>
        <pre className="mono overview-curl">{CURL}</pre>
      </Empty>
    )
  }
  const failures = t.failuresByReason
  const refusals = [
    ...t.refusals.consent.map((r) => ({ ...r, kind: 'Consent (at intake)' })),
    ...t.refusals.verify.map((r) => ({ ...r, kind: 'Verify' })),
  ]
  return (
    <>
      <section aria-labelledby="totals">
        <h2 id="totals">{label}</h2>
        <p className="muted">
          {formatTime(stats.from)} to {formatTime(stats.to)}, by {stats.granularity}; as of{' '}
          {formatTime(stats.generatedAt)}.
        </p>
        <dl className="overview-tiles">
          <div>
            <dt>Sent</dt>
            <dd>{int(t.messages)}</dd>
          </div>
          <div>
            <dt>Delivered</dt>
            <dd>{int(t.delivered)}</dd>
          </div>
          <div>
            <dt>Failed</dt>
            <dd>{int(t.failed)}</dd>
          </div>
          <div>
            <dt>Delivery rate</dt>
            <dd>{pct(t.deliveryRate)}</dd>
          </div>
          <div>
            <dt>Segments</dt>
            <dd>{int(t.segments)}</dd>
          </div>
          <div>
            <dt>Cost</dt>
            <dd>{t.cost.length === 0 ? '—' : t.cost.map(money).join(' + ')}</dd>
          </div>
          <div>
            <dt>Inbound</dt>
            <dd>{int(t.inbound)}</dd>
          </div>
          <div>
            <dt>Opt-outs</dt>
            <dd>{int(t.optOuts)}</dd>
          </div>
          <div>
            <dt>Latency p50</dt>
            <dd>{ms(t.latency.p50)}</dd>
          </div>
          <div>
            <dt>Latency p90</dt>
            <dd>{ms(t.latency.p90)}</dd>
          </div>
          <div>
            <dt>Latency p99</dt>
            <dd>{ms(t.latency.p99)}</dd>
          </div>
        </dl>
        <p className="muted">
          Latency: from creation to delivery, over {int(t.latency.count)} delivered messages.
        </p>
      </section>
      <section aria-labelledby="charts">
        <h2 id="charts">Over time</h2>
        <div className="overview-charts">
          <Chart
            title="Volume: sent, delivered, failed"
            times={times}
            series={charts.volume}
            timeLabel={timeLabel}
          />
          <Chart
            title="Delivery rate"
            times={times}
            series={charts.rate}
            timeLabel={timeLabel}
            ratio
          />
          <Chart
            title="Segments and cost"
            times={times}
            series={charts.segments}
            timeLabel={timeLabel}
          />
          <Chart
            title="Opt-outs and inbound messages"
            times={times}
            series={charts.people}
            timeLabel={timeLabel}
          />
        </div>
      </section>
      <section aria-labelledby="failures">
        <h2 id="failures">Failures by reason</h2>
        {failures.length === 0 ? (
          <p className="muted">No failed message in this period.</p>
        ) : (
          <TableWrap label="Failures by reason table">
            <table>
              <thead>
                <tr>
                  <th scope="col">Error code</th>
                  <th scope="col">Messages</th>
                  <th scope="col">Share of failures</th>
                </tr>
              </thead>
              <tbody>
                {failures.map((f) => (
                  <tr key={f.errorCode ?? ''}>
                    <td>
                      {f.errorCode ? (
                        <code>{f.errorCode}</code>
                      ) : (
                        <span className="muted">unknown</span>
                      )}
                    </td>
                    <td>{int(f.count)}</td>
                    <td>{pct(t.failed === 0 ? null : f.count / t.failed)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
        {refusals.length > 0 ? (
          <>
            <h3>Refused requests</h3>
            <TableWrap label="Refused requests table">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Where</th>
                    <th scope="col">Reason</th>
                    <th scope="col">Requests</th>
                  </tr>
                </thead>
                <tbody>
                  {refusals.map((r) => (
                    <tr key={`${r.kind}|${r.reason}`}>
                      <td>{r.kind}</td>
                      <td>
                        <code>{r.reason}</code>
                      </td>
                      <td>{int(r.count)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          </>
        ) : null}
      </section>
    </>
  )
}
