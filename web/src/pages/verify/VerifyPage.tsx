import { useInfiniteQuery, useQuery } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { Link } from 'wouter'
import { api, type Page } from '../../api'
import {
  Empty,
  ErrorBox,
  formatTime,
  Loading,
  PageHeader,
  StatusBadge,
  LoadMore,
} from '../../components/ui'
import { useIsAdmin } from '../../session'
import { ConversionChart, type DayFigures } from './ConversionChart'
import './verify.css'

/** GET /v1/verifications entries: the view of GET /v1/verifications/{id}, never a code. */
interface Verification {
  id: string
  to: string
  status: string
  sends: number
  attempts: number
  codeLength: number
  locale: string | null
  template: string | null
  messageId: string | null
  createdAt: string
  expiresAt: string
  approvedAt: string | null
  lockedUntil: string | null
}

interface Stats {
  sends: number
  verifications: number
  approvals: number
  conversionRate: number | null
  medianTimeToApproveSeconds: number | null
  blocked: Record<string, number>
}

interface Block {
  id: number
  kind: string
  value: string
  reason: string
  createdAt: string
  until: string
  active: boolean
}

const STATUSES = ['pending', 'approved', 'expired', 'locked', 'canceled']

interface Filters {
  status: string
  to: string
  from: string
  until: string
}
const NO_FILTERS: Filters = { status: '', to: '', from: '', until: '' }

/** A `yyyy-mm-dd` date input as the ISO time of that local midnight (+ days). */
const dayStart = (d: string, plusDays = 0): string | undefined => {
  if (!d) return undefined
  const [y, m, day] = d.split('-').map(Number)
  return new Date(y ?? 0, (m ?? 1) - 1, (day ?? 1) + plusDays).toISOString()
}

const percent = (r: number | null) => (r === null ? '—' : `${Math.round(r * 1000) / 10} %`)

export function VerifyPage() {
  const isAdmin = useIsAdmin()
  return (
    <div className="stack">
      <PageHeader title="Verify" />
      <p className="muted">
        One-time codes sent by SMS (docs/verify.md). Codes are never shown here: only the phone that
        received one sees it.
      </p>
      <Conversion />
      <VerificationLog />
      {isAdmin ? <Blocks /> : null}
    </div>
  )
}

function Conversion() {
  const [days, setDays] = useState(14)
  const q = useQuery({
    queryKey: ['verify-conversion', days],
    queryFn: async () => {
      const today = new Date()
      today.setHours(0, 0, 0, 0)
      const starts = Array.from({ length: days }, (_, i) => {
        const d = new Date(today)
        d.setDate(d.getDate() - (days - 1 - i))
        return d
      })
      const end = new Date(today)
      end.setDate(end.getDate() + 1)
      const stat = (from: Date, to: Date) =>
        api<Stats>('/v1/verifications/stats', {
          query: { from: from.toISOString(), to: to.toISOString() },
        })
      const [total, ...perDay] = await Promise.all([
        stat(starts[0] ?? today, end),
        ...starts.map((d, i) => stat(d, starts[i + 1] ?? end)),
      ])
      const figures: DayFigures[] = perDay.map((s, i) => ({
        day: (starts[i] ?? today).getTime(),
        started: s.verifications,
        // Of those started that day, the ones approved (the conversion rate's numerator).
        approved: Math.round((s.conversionRate ?? 0) * s.verifications),
      }))
      return { total, figures }
    },
    refetchInterval: 30_000,
  })
  return (
    <section className="panel stack" aria-labelledby="conv-h">
      <div className="page-header">
        <h2 id="conv-h">Conversion</h2>
        <label className="inline">
          Period{' '}
          <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
            <option value={7}>last 7 days</option>
            <option value={14}>last 14 days</option>
            <option value={30}>last 30 days</option>
          </select>
        </label>
      </div>
      <ErrorBox error={q.error} title="The figures could not be loaded" />
      {q.data ? (
        <>
          <dl className="verify-figures">
            <div>
              <dt>Started</dt>
              <dd>{q.data.total.verifications}</dd>
            </div>
            <div>
              <dt>Approved</dt>
              <dd>{q.data.total.approvals}</dd>
            </div>
            <div>
              <dt>Conversion</dt>
              <dd>{percent(q.data.total.conversionRate)}</dd>
            </div>
            <div>
              <dt>SMS sent</dt>
              <dd>{q.data.total.sends}</dd>
            </div>
            <div>
              <dt>Median time to approve</dt>
              <dd>
                {q.data.total.medianTimeToApproveSeconds === null
                  ? '—'
                  : `${q.data.total.medianTimeToApproveSeconds} s`}
              </dd>
            </div>
            <div>
              <dt>Refused requests</dt>
              <dd>{Object.values(q.data.total.blocked).reduce((n, x) => n + x, 0)}</dd>
            </div>
          </dl>
          <ConversionChart days={q.data.figures} />
        </>
      ) : q.isPending ? (
        <Loading what="the figures" />
      ) : null}
    </section>
  )
}

function VerificationLog() {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS)
  const [filters, setFilters] = useState<Filters>(NO_FILTERS)
  const q = useInfiniteQuery({
    queryKey: ['verifications', filters],
    queryFn: ({ pageParam }) =>
      api<Page<Verification>>('/v1/verifications', {
        query: {
          limit: 50,
          cursor: pageParam,
          status: filters.status,
          to: filters.to.trim(),
          createdAfter: dayStart(filters.from),
          createdBefore: dayStart(filters.until, 1),
        },
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.nextCursor ?? undefined,
    refetchInterval: 5_000,
  })
  const rows = q.data?.pages.flatMap((p) => p.data) ?? []
  const apply = (e: FormEvent) => {
    e.preventDefault()
    setFilters(draft)
  }
  const filtered = Object.values(filters).some((v) => v !== '')
  return (
    <section className="stack" aria-labelledby="log-h">
      <h2 id="log-h">Verifications</h2>
      <form className="row" onSubmit={apply} aria-label="Filter verifications">
        <label>
          Status
          <select
            value={draft.status}
            onChange={(e) => setDraft({ ...draft, status: e.target.value })}
          >
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Number
          <input
            value={draft.to}
            inputMode="tel"
            placeholder="+14155550123"
            onChange={(e) => setDraft({ ...draft, to: e.target.value })}
          />
        </label>
        <label>
          Started from
          <input
            type="date"
            value={draft.from}
            onChange={(e) => setDraft({ ...draft, from: e.target.value })}
          />
        </label>
        <label>
          Started until
          <input
            type="date"
            value={draft.until}
            onChange={(e) => setDraft({ ...draft, until: e.target.value })}
          />
        </label>
        <button type="submit">Filter</button>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setDraft(NO_FILTERS)
            setFilters(NO_FILTERS)
          }}
        >
          Clear
        </button>
        <button type="button" className="secondary" onClick={() => void q.refetch()}>
          Refresh
        </button>
      </form>
      <ErrorBox error={q.error} title="Verifications could not be loaded" />
      {q.isPending ? (
        <Loading what="verifications" />
      ) : rows.length === 0 && !q.error ? (
        <Empty title={filtered ? 'No verification matches these filters.' : 'No verification yet.'}>
          {filtered
            ? 'Clear the filters to see every verification.'
            : 'Start one with POST /v1/verifications (docs/verify.md); with the simulator, the code shows on the Simulator page.'}
        </Empty>
      ) : rows.length > 0 ? (
        <div className="table-wrap">
          <table data-testid="verifications">
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Number</th>
                <th scope="col">Status</th>
                <th scope="col">SMS sent</th>
                <th scope="col">Wrong codes</th>
                <th scope="col">Expires / approved</th>
                <th scope="col">Newest SMS</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((v) => (
                <tr key={v.id} data-id={v.id}>
                  <td>{formatTime(v.createdAt)}</td>
                  <td className="mono">{v.to}</td>
                  <td>
                    <StatusBadge status={v.status} />
                    {v.lockedUntil ? (
                      <span className="muted"> until {formatTime(v.lockedUntil)}</span>
                    ) : null}
                  </td>
                  <td>{v.sends}</td>
                  <td>{v.attempts}</td>
                  <td>
                    {v.approvedAt
                      ? `approved ${formatTime(v.approvedAt)}`
                      : formatTime(v.expiresAt)}
                  </td>
                  <td>
                    {v.messageId ? (
                      <Link
                        href={`/messages/${encodeURIComponent(v.messageId)}`}
                        aria-label={`Message ${v.messageId}`}
                      >
                        message
                      </Link>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMore query={q} label="Load more verifications" />
    </section>
  )
}

/** Admins: number ranges, numbers, IPs and countries the abuse protection refuses. */
function Blocks() {
  const [all, setAll] = useState(false)
  const q = useInfiniteQuery({
    queryKey: ['verify-blocks', all],
    queryFn: ({ pageParam }) =>
      api<Page<Block>>('/v1/verifications/blocks', {
        query: { status: all ? 'all' : 'active', limit: 50, cursor: pageParam },
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.nextCursor ?? undefined,
  })
  const rows = q.data?.pages.flatMap((p) => p.data) ?? []
  return (
    <section className="stack" aria-labelledby="blocks-h">
      <h2 id="blocks-h">Blocked numbers and ranges</h2>
      <label className="inline">
        <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> Show
        ended blocks too
      </label>
      <ErrorBox error={q.error} title="Blocks could not be loaded" />
      {q.isPending ? (
        <Loading what="blocks" />
      ) : rows.length === 0 && !q.error ? (
        <Empty title={all ? 'Nothing was ever blocked.' : 'Nothing is blocked now.'}>
          Velocity detection blocks a number range on a burst of codes that are hardly ever approved
          (SMS pumping); its limits are VERIFY_LIMITS.
        </Empty>
      ) : rows.length > 0 ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Value</th>
                <th scope="col">Reason</th>
                <th scope="col">Since</th>
                <th scope="col">Until</th>
                <th scope="col">In force</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((b) => (
                <tr key={b.id}>
                  <td>{b.kind}</td>
                  <td className="mono">{b.value}</td>
                  <td>{b.reason}</td>
                  <td>{formatTime(b.createdAt)}</td>
                  <td>{formatTime(b.until)}</td>
                  <td>{b.active ? 'yes' : 'no'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMore query={q} label="Load more blocks" />
    </section>
  )
}
