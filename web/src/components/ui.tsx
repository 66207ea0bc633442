import type { ReactNode } from 'react'
import { ApiError } from '../api'

/** An error in words, with the error code from docs/errors.md when the API gave one. */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : ''
  const code = error instanceof ApiError ? error.code : null
  return (
    <div role="alert" className="error">
      {title ? <strong>{title}: </strong> : null}
      {message || 'Something went wrong.'}
      {code ? (
        <>
          {' '}
          <code className="code">{code}</code>
        </>
      ) : null}
    </div>
  )
}

/** What an empty list means and what to do next. */
export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p>
        <strong>{title}</strong>
      </p>
      {children ? <div>{children}</div> : null}
    </div>
  )
}

export function Loading({ what }: { what?: string }) {
  return (
    <p className="muted" role="status">
      Loading{what ? ` ${what}` : ''}…
    </p>
  )
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1>{title}</h1>
      {children ? <div className="page-actions">{children}</div> : null}
    </div>
  )
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })

/** An ISO time or epoch milliseconds, in the browser's locale; '—' when absent. */
export function formatTime(t: string | number | null | undefined): string {
  if (t === null || t === undefined || t === '') return '—'
  const d = new Date(t)
  return Number.isNaN(d.getTime()) ? String(t) : dateTime.format(d)
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>
}

/** The next cursor page of a list (react-query's infinite query), by a button keyboards reach. */
export function LoadMore({
  query,
  label = 'Load more',
}: {
  query: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => unknown }
  label?: string
}) {
  if (!query.hasNextPage) return null
  return (
    <div>
      <button
        type="button"
        className="secondary"
        disabled={query.isFetchingNextPage}
        onClick={() => void query.fetchNextPage()}
      >
        {query.isFetchingNextPage ? 'Loading…' : label}
      </button>
    </div>
  )
}
