import { useInfiniteQuery } from '@tanstack/react-query'
import { useEffect, useRef, useState, type FormEvent } from 'react'
import { Link, useSearchParams } from 'wouter'
import { api, type Page } from '../../api'
import { Empty, ErrorBox, formatTime, Loading, PageHeader, StatusBadge } from '../../components/ui'
import { Compose } from './Compose'
import { Field } from './Field'
import './messages.css'
import { STATUSES, type Message } from './types'

/** The log's filters, named as GET /v1/messages names them and kept in the page's URL. */
const FILTERS = [
  'status',
  'direction',
  'number',
  'provider',
  'createdAfter',
  'createdBefore',
] as const
type Filter = (typeof FILTERS)[number]
type Filters = Record<Filter, string>

const readFilters = (p: URLSearchParams): Filters =>
  Object.fromEntries(FILTERS.map((f) => [f, p.get(f) ?? ''])) as Filters

/** An ISO time as a datetime-local input shows it (the browser's time zone), and back. */
function toLocalInput(iso: string): string {
  const d = new Date(iso)
  if (!iso || Number.isNaN(d.getTime())) return ''
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60_000)
  return local.toISOString().slice(0, 16)
}
function fromLocalInput(v: string): string {
  const d = new Date(v)
  return !v || Number.isNaN(d.getTime()) ? '' : d.toISOString()
}

export function MessagesPage() {
  return (
    <div className="stack">
      <PageHeader title="Messages" />
      <Compose />
      <MessageLog />
    </div>
  )
}

function MessageLog() {
  const [params, setParams] = useSearchParams()
  const applied = readFilters(params)
  const [draft, setDraft] = useState<Filters>(applied)
  const key = FILTERS.map((f) => applied[f]).join('|')
  // The URL is the truth (back, forward, a bookmark): the form follows it.
  useEffect(() => setDraft(readFilters(new URLSearchParams(window.location.search))), [key])

  const apply = (next: Filters) => {
    const p = new URLSearchParams()
    for (const f of FILTERS) if (next[f]) p.set(f, next[f])
    setParams(p)
  }
  const onSubmit = (e: FormEvent) => {
    e.preventDefault()
    apply(draft)
  }
  const setNow = (f: Filter, v: string) => {
    const next = { ...draft, [f]: v }
    setDraft(next)
    return next
  }
  const filtered = FILTERS.some((f) => applied[f])

  const q = useInfiniteQuery({
    queryKey: ['messages', 'list', applied],
    queryFn: ({ pageParam }) =>
      api<Page<Message>>('/v1/messages', { query: { ...applied, cursor: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  })

  // Infinite scroll: the next page loads when the end of the list comes into view.
  const sentinel = useRef<HTMLDivElement>(null)
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = q
  useEffect(() => {
    const el = sentinel.current
    if (!el || !hasNextPage) return
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !isFetchingNextPage) void fetchNextPage()
    })
    io.observe(el)
    return () => io.disconnect()
  }, [hasNextPage, isFetchingNextPage, fetchNextPage])

  const rows = q.data?.pages.flatMap((p) => p.data) ?? []

  return (
    <section aria-labelledby="log-title" className="stack">
      <h2 id="log-title">Message log</h2>
      <form className="panel row msg-filters" onSubmit={onSubmit} aria-label="Log filters">
        <Field label="Status">
          {(id) => (
            <select
              id={id}
              value={draft.status}
              onChange={(e) => apply(setNow('status', e.target.value))}
            >
              <option value="">Any status</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Direction">
          {(id) => (
            <select
              id={id}
              value={draft.direction}
              onChange={(e) => apply(setNow('direction', e.target.value))}
            >
              <option value="">Both</option>
              <option value="outbound">Outbound (sent)</option>
              <option value="inbound">Inbound (received)</option>
            </select>
          )}
        </Field>
        <Field label="Number" hint="Sent to it or received from it">
          {(id, hint) => (
            <input
              id={id}
              type="search"
              inputMode="tel"
              placeholder="+14155550100"
              value={draft.number}
              onChange={(e) => setNow('number', e.target.value)}
              aria-describedby={hint}
            />
          )}
        </Field>
        <Field label="Provider">
          {(id) => (
            <input
              id={id}
              type="search"
              placeholder="simulator"
              value={draft.provider}
              onChange={(e) => setNow('provider', e.target.value)}
            />
          )}
        </Field>
        <Field label="Created after">
          {(id) => (
            <input
              id={id}
              type="datetime-local"
              value={toLocalInput(draft.createdAfter)}
              onChange={(e) => setNow('createdAfter', fromLocalInput(e.target.value))}
            />
          )}
        </Field>
        <Field label="Created before">
          {(id) => (
            <input
              id={id}
              type="datetime-local"
              value={toLocalInput(draft.createdBefore)}
              onChange={(e) => setNow('createdBefore', fromLocalInput(e.target.value))}
            />
          )}
        </Field>
        <div className="row">
          <button type="submit">Filter</button>
          {filtered ? (
            <button type="button" className="secondary" onClick={() => setParams({})}>
              Clear filters
            </button>
          ) : null}
        </div>
      </form>

      {!q.data ? (
        q.isError ? (
          <ErrorBox error={q.error} title="The log could not be read" />
        ) : (
          <Loading what="messages" />
        )
      ) : rows.length === 0 ? (
        filtered ? (
          <Empty title="No message matches these filters.">
            <p>Widen the period, pick another status, or clear the filters.</p>
            <button type="button" className="secondary" onClick={() => setParams({})}>
              Clear filters
            </button>
          </Empty>
        ) : (
          <Empty title="No messages yet.">
            <p>
              Send one with the form above, or from a program with <code>POST /v1/messages</code>.
              Received SMS appear here too.
            </p>
          </Empty>
        )
      ) : (
        <>
          <div className="table-wrap">
            <table className="msg-log">
              <caption className="muted">
                {rows.length} message{rows.length === 1 ? '' : 's'} shown, newest first
                {hasNextPage ? '; more below' : ''}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Message</th>
                  <th scope="col">Status</th>
                  <th scope="col">Direction</th>
                  <th scope="col">To</th>
                  <th scope="col">From</th>
                  <th scope="col">Text</th>
                  <th scope="col">Provider</th>
                  <th scope="col">Segments</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((m) => (
                  <tr key={m.id} data-testid="message-row">
                    <td>
                      <Link href={`/messages/${encodeURIComponent(m.id)}`} className="mono">
                        {m.id}
                      </Link>
                      <div className="muted small">{formatTime(m.createdAt)}</div>
                    </td>
                    <td>
                      <StatusBadge status={m.status} />
                    </td>
                    <td>{m.direction}</td>
                    <td className="mono nowrap">{m.to}</td>
                    <td className="mono nowrap">{m.from ?? m.sender ?? '—'}</td>
                    <td className="msg-text">{m.body}</td>
                    <td>{m.provider ?? '—'}</td>
                    <td>
                      {m.segments} <span className="muted">{m.encoding}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div ref={sentinel} aria-hidden="true" className="sentinel" />
          {q.isError ? <ErrorBox error={q.error} title="More messages could not be read" /> : null}
          {hasNextPage ? (
            <button
              type="button"
              className="secondary"
              onClick={() => void fetchNextPage()}
              disabled={isFetchingNextPage}
            >
              {isFetchingNextPage ? 'Loading more…' : 'Load more'}
            </button>
          ) : (
            <p className="muted">That is every message{filtered ? ' matching the filters' : ''}.</p>
          )}
        </>
      )}
    </section>
  )
}
