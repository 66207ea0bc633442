import { useMutation, useQuery, useQueryClient, type UseQueryResult } from '@tanstack/react-query'
import { useEffect, useRef, useState, type FormEvent } from 'react'
import { Link } from 'wouter'
import { api } from '../../api'
import { SegmentCounter } from '../../components/SegmentCounter'
import { ErrorBox, formatTime, Loading } from '../../components/ui'
import { useCanWrite, useIsAdmin, useSession } from '../../session'
import {
  consentKey,
  fetchConsent,
  scopeInWords,
  sendingBlocked,
  type Consent,
} from '../contacts/consent'
import {
  detailKey,
  type Conversation,
  type ConversationWithMessages,
  type ThreadMessage,
} from './types'

/** Statuses after which an outbound message changes no more. */
const FINAL = new Set(['delivered', 'undelivered', 'failed', 'expired', 'canceled', 'rejected'])
/** How often an open thread is re-read while one of its recent messages is on its way. */
const POLL_MS = 1_500
/** Messages older than this are not waited for (a delivery report that never comes). */
const POLL_WINDOW_MS = 10 * 60_000

/** Delivery ticks: a glyph for the eye, the status in words for everyone. */
const TICKS: Record<string, { glyph: string; words: string; tone: string }> = {
  scheduled: { glyph: '🕓', words: 'Scheduled', tone: 'pending' },
  queued: { glyph: '🕓', words: 'Queued', tone: 'pending' },
  sending: { glyph: '🕓', words: 'Sending', tone: 'pending' },
  sent: { glyph: '✓', words: 'Sent', tone: 'sent' },
  delivered: { glyph: '✓✓', words: 'Delivered', tone: 'delivered' },
  undelivered: { glyph: '✕', words: 'Not delivered', tone: 'failed' },
  failed: { glyph: '✕', words: 'Failed', tone: 'failed' },
  expired: { glyph: '✕', words: 'Expired', tone: 'failed' },
  canceled: { glyph: '✕', words: 'Canceled', tone: 'failed' },
  rejected: { glyph: '✕', words: 'Rejected', tone: 'failed' },
}

function onItsWay(c: ConversationWithMessages | undefined): boolean {
  const now = Date.now()
  return (
    c?.messages.some(
      (m) =>
        m.direction === 'outbound' &&
        !FINAL.has(m.status) &&
        now - Date.parse(m.createdAt) < POLL_WINDOW_MS,
    ) ?? false
  )
}

/** One conversation: header with consent and actions, review flags, the thread, the reply box. */
export function ChatView({ id }: { id: string }) {
  const queries = useQueryClient()
  const canWrite = useCanWrite()
  const isAdmin = useIsAdmin()
  const { user } = useSession()
  const conv = useQuery({
    queryKey: detailKey(id),
    queryFn: () => api<ConversationWithMessages>(`/v1/conversations/${encodeURIComponent(id)}`),
    // Status changes are not events: re-read while a reply is still on its way.
    refetchInterval: (q) => (onItsWay(q.state.data) ? POLL_MS : false),
  })
  const phone = conv.data?.contact.phone
  const consent = useQuery({
    queryKey: consentKey(phone ?? ''),
    queryFn: () => fetchConsent(phone ?? ''),
    enabled: phone !== undefined,
  })

  // Older messages, fetched on demand, kept until another conversation is opened.
  const [older, setOlder] = useState<ThreadMessage[]>([])
  const [olderCursor, setOlderCursor] = useState<string | null | undefined>(undefined)
  useEffect(() => {
    setOlder([])
    setOlderCursor(undefined)
  }, [id])
  const loadOlder = useMutation({
    mutationFn: (before: string) =>
      api<ConversationWithMessages>(`/v1/conversations/${encodeURIComponent(id)}`, {
        query: { before },
      }),
    onSuccess: (page) => {
      setOlder((o) => [...page.messages, ...o])
      setOlderCursor(page.olderCursor)
    },
  })

  const refresh = (c?: Conversation) => {
    if (c) {
      queries.setQueryData<ConversationWithMessages>(detailKey(id), (old) =>
        old ? { ...old, ...c } : old,
      )
    }
    void queries.invalidateQueries({ queryKey: ['conversations'] })
  }
  const action = useMutation({
    mutationFn: ({ path, body }: { path: string; body?: unknown }) =>
      api<Conversation>(`/v1/conversations/${encodeURIComponent(id)}/${path}`, {
        method: 'POST',
        ...(body !== undefined ? { body } : {}),
      }),
    onSuccess: (c) => refresh(c),
  })

  const thread = useRef<HTMLDivElement>(null)
  const count = conv.data?.messages.length ?? 0
  const lastStatus = conv.data?.messages.at(-1)?.status
  useEffect(() => {
    const el = thread.current
    if (el) el.scrollTop = el.scrollHeight
  }, [count, lastStatus, id])

  if (conv.isPending) return <Loading what="the conversation" />
  if (conv.isError)
    return <ErrorBox error={conv.error} title="The conversation could not be loaded" />
  const c = conv.data
  const messages = [...older, ...c.messages]
  const nextOlder = olderCursor === undefined ? c.olderCursor : olderCursor
  const blocked = consent.data ? sendingBlocked(consent.data, c.number) : null
  const flagged = new Set(c.flags.map((f) => f.messageId))
  const busy = action.isPending

  return (
    <div className="chat stack">
      <header className="chat-header panel">
        <h2>
          {c.contact.phone} <span className="muted chat-to">to {c.number}</span>
        </h2>
        <p className="chat-facts">
          <span className={`badge badge-${c.status}`}>
            {c.status === 'open' ? 'Open' : 'Closed'}
          </span>{' '}
          {c.unread ? <span className="badge badge-unread">Unread</span> : null}{' '}
          <span>{c.assignee ? `Assigned to ${c.assignee}` : 'Unassigned'}</span>
          {' · '}
          <Link href={`/contacts/${encodeURIComponent(c.contact.phone)}`}>Consent history</Link>
        </p>
        <ConsentLine consent={consent} blocked={blocked} />
        {canWrite ? (
          <div className="row chat-actions">
            {c.assignee === user?.email ? (
              <button
                type="button"
                className="secondary"
                disabled={busy}
                onClick={() => action.mutate({ path: 'assign', body: { assignee: null } })}
              >
                Unassign
              </button>
            ) : (
              <button
                type="button"
                className="secondary"
                disabled={busy}
                onClick={() => action.mutate({ path: 'assign', body: { assignee: user?.email } })}
              >
                Assign to me
              </button>
            )}
            {c.assignee && c.assignee !== user?.email ? (
              <button
                type="button"
                className="secondary"
                disabled={busy}
                onClick={() => action.mutate({ path: 'assign', body: { assignee: null } })}
              >
                Unassign
              </button>
            ) : null}
            {c.status === 'open' ? (
              <button
                type="button"
                className="secondary"
                disabled={busy}
                onClick={() => action.mutate({ path: 'close' })}
              >
                Close
              </button>
            ) : (
              <button
                type="button"
                className="secondary"
                disabled={busy}
                onClick={() => action.mutate({ path: 'reopen' })}
              >
                Reopen
              </button>
            )}
            {c.unread ? (
              <button
                type="button"
                className="secondary"
                disabled={busy}
                onClick={() => action.mutate({ path: 'read' })}
              >
                Mark read
              </button>
            ) : null}
          </div>
        ) : null}
        <ErrorBox error={action.error} title="That did not work" />
      </header>

      {c.flags.length > 0 ? (
        <div className="review-flags panel" role="region" aria-label="Review flags">
          <h3>Review: possible opt-out</h3>
          <ul>
            {c.flags.map((f) => {
              const m = messages.find((x) => x.id === f.messageId)
              return (
                <li key={f.messageId + f.at}>
                  {m ? <>“{m.body}” </> : 'A message '}({formatTime(f.at)}) reads like a request to
                  stop. It is not a keyword, so nothing was recorded in the consent ledger.
                </li>
              )
            })}
          </ul>
          <p className="muted">
            {isAdmin ? (
              <>
                If it is an opt-out,{' '}
                <Link href={`/contacts/${encodeURIComponent(c.contact.phone)}`}>
                  record it on the contact’s page
                </Link>
                ; then clear the flag.
              </>
            ) : (
              'If it is an opt-out, ask an admin to record it; then clear the flag.'
            )}
          </p>
          {canWrite ? (
            <button
              type="button"
              className="secondary"
              disabled={busy}
              onClick={() => action.mutate({ path: 'flags/clear' })}
            >
              Clear flag
            </button>
          ) : null}
        </div>
      ) : null}

      <div className="thread" ref={thread} role="log" aria-label="Messages" tabIndex={0}>
        {nextOlder ? (
          <button
            type="button"
            className="secondary"
            disabled={loadOlder.isPending}
            onClick={() => loadOlder.mutate(nextOlder)}
          >
            Load older messages
          </button>
        ) : null}
        <ErrorBox error={loadOlder.error} title="Older messages could not be loaded" />
        {messages.length === 0 ? (
          <p className="muted">No messages in this thread yet.</p>
        ) : (
          <ol className="bubbles">
            {messages.map((m) => (
              <Bubble key={m.id} m={m} flagged={flagged.has(m.id)} />
            ))}
          </ol>
        )}
      </div>

      <ReplyBox
        id={id}
        blocked={blocked}
        canWrite={canWrite}
        role={user?.role ?? 'viewer'}
        onSent={() => refresh()}
      />
    </div>
  )
}

function ConsentLine({
  consent,
  blocked,
}: {
  consent: UseQueryResult<Consent>
  blocked: string | null
}) {
  if (consent.isPending) return <Loading what="consent" />
  if (consent.isError) return <ErrorBox error={consent.error} title="Consent could not be loaded" />
  const state = consent.data.state
  return (
    <div className="chat-consent">
      <p>
        <strong>Consent: </strong>
        {state.length === 0
          ? 'nothing recorded (replies are transactional and need no opt-in).'
          : state.map((s, i) => (
              <span key={s.scope}>
                {i > 0 ? '; ' : ''}
                {s.status === 'opted_out' ? 'opted out of ' : 'opted in to '}
                {scopeInWords(s.scope)} since {formatTime(s.since)}
              </span>
            ))}
      </p>
      {blocked ? <p className="sending-blocked">Sending is disabled: {blocked}</p> : null}
    </div>
  )
}

function Bubble({ m, flagged }: { m: ThreadMessage; flagged: boolean }) {
  const tick = TICKS[m.status]
  const inbound = m.direction === 'inbound'
  return (
    <li className={`bubble ${inbound ? 'inbound' : 'outbound'}${flagged ? ' flagged' : ''}`}>
      <span className="conv-announce">
        {inbound ? `From ${m.from ?? 'the contact'}:` : 'Sent:'}
      </span>
      <p className="bubble-body">{m.body}</p>
      <p className="bubble-meta">
        <time dateTime={m.createdAt}>{formatTime(m.createdAt)}</time>
        {!inbound ? (
          <span className={`tick tick-${tick?.tone ?? 'pending'}`} data-status={m.status}>
            {' · '}
            <span aria-hidden="true">{tick?.glyph ?? '•'}</span> {tick?.words ?? m.status}
            {m.errorMessage ? `: ${m.errorMessage}` : ''}
          </span>
        ) : null}
        {flagged ? <span className="badge badge-flag">Flagged: possible opt-out</span> : null}
      </p>
    </li>
  )
}

/** An Idempotency-Key (crypto.randomUUID needs a secure context; this does not). */
function newKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}

function ReplyBox({
  id,
  blocked,
  canWrite,
  role,
  onSent,
}: {
  id: string
  blocked: string | null
  canWrite: boolean
  role: string
  onSent: () => void
}) {
  const [body, setBody] = useState('')
  // One key per reply being written: a retry after a lost answer does not send it twice.
  const idem = useRef<string>(newKey())
  const send = useMutation({
    mutationFn: (text: string) =>
      api(`/v1/conversations/${encodeURIComponent(id)}/messages`, {
        method: 'POST',
        body: { body: text },
        headers: { 'idempotency-key': idem.current },
      }),
    onSuccess: () => {
      setBody('')
      idem.current = newKey()
      onSent()
    },
  })
  const reason = !canWrite
    ? `Read only: your role (${role}) can read conversations; agents and admins reply.`
    : blocked
      ? `Sending is disabled: ${blocked}`
      : null
  const disabled = reason !== null
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (!disabled && body.trim()) send.mutate(body)
  }
  return (
    <form className="reply stack" onSubmit={submit}>
      <label>
        Reply
        <textarea
          value={body}
          disabled={disabled || send.isPending}
          maxLength={10_000}
          aria-describedby={`reply-counter${reason ? ' reply-reason' : ''}`}
          onChange={(e) => {
            setBody(e.target.value)
            idem.current = newKey()
          }}
        />
      </label>
      <SegmentCounter body={body} id="reply-counter" />
      {reason ? (
        <p id="reply-reason" className="reply-reason">
          {reason}
        </p>
      ) : null}
      <ErrorBox error={send.error} title="The reply was not sent" />
      <div>
        <button type="submit" disabled={disabled || send.isPending || body.trim() === ''}>
          {send.isPending ? 'Sending…' : 'Send reply'}
        </button>
      </div>
    </form>
  )
}
