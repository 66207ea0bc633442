import { useInfiniteQuery, useQuery } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { Link } from 'wouter'
import { api, type Page } from '../../api'
import { Empty, ErrorBox, formatTime, Loading, PageHeader, LoadMore } from '../../components/ui'
import { useEventStream, type StreamEvent } from '../../events'
import { useSession } from '../../session'
import { ChatView } from './ChatView'
import './conversations.css'
import { listKey, type Conversation, type ConversationFilters } from './types'

const PAGE_SIZE = 50
/** The unread count is counted over at most this many conversations ("200+" beyond). */
const UNREAD_CAP = 200

/**
 * The support inbox: conversations on the left (newest activity first, filtered), the chosen
 * one's thread on the right; at phone width one after the other. Kept live by the event stream.
 */
export function ConversationsPage({ id }: { id?: string }) {
  const me = useSession().user?.email ?? ''
  const [filters, setFilters] = useState<ConversationFilters>({
    status: 'open',
    mine: false,
    unread: false,
    q: '',
  })
  const [search, setSearch] = useState('')
  const [announce, setAnnounce] = useState('')
  const { connected } = useEventStream(
    ['message.received', 'consent.changed'],
    (e: StreamEvent) => {
      if (e.type === 'message.received' && typeof e.data.from === 'string') {
        setAnnounce(`New message from ${e.data.from}`)
      }
    },
  )

  const list = useInfiniteQuery({
    queryKey: listKey(filters, me),
    queryFn: ({ pageParam }) =>
      api<Page<Conversation>>('/v1/conversations', {
        query: {
          status: filters.status,
          assignee: filters.mine ? me : undefined,
          unread: filters.unread ? true : undefined,
          q: filters.q,
          limit: PAGE_SIZE,
          cursor: pageParam,
        },
      }),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  })
  const unread = useQuery({
    queryKey: ['conversations', 'unread-count'],
    queryFn: () =>
      api<Page<Conversation>>('/v1/conversations', {
        query: { status: 'open', unread: true, limit: UNREAD_CAP },
      }),
    select: (p) => (p.nextCursor ? `${UNREAD_CAP}+` : String(p.data.length)),
  })

  const conversations = list.data?.pages.flatMap((p) => p.data) ?? []
  const onSearch = (e: FormEvent) => {
    e.preventDefault()
    setFilters((f) => ({ ...f, q: search.trim() }))
  }

  return (
    <>
      <PageHeader title="Conversations">
        <span className="muted live-state" role="status">
          {connected ? 'Live: new messages appear as they come' : 'Connecting to live updates…'}
        </span>
      </PageHeader>
      <p className="conv-announce" aria-live="polite">
        {announce}
      </p>
      <div className={`inbox${id ? ' has-selection' : ''}`}>
        <section className="inbox-list" aria-labelledby="inbox-heading">
          <h2 id="inbox-heading">
            Inbox{' '}
            <span className="muted inbox-unread">
              ({unread.data ?? '…'} unread open conversation{unread.data === '1' ? '' : 's'})
            </span>
          </h2>
          <form className="inbox-filters" onSubmit={onSearch} role="search">
            <label>
              Search messages
              <input
                type="search"
                value={search}
                maxLength={200}
                onChange={(e) => setSearch(e.target.value)}
              />
            </label>
            <button type="submit" className="secondary">
              Search
            </button>
            <div className="field">
              <label htmlFor="inbox-status">Status</label>
              <select
                id="inbox-status"
                value={filters.status}
                onChange={(e) =>
                  setFilters((f) => ({
                    ...f,
                    status: e.target.value as ConversationFilters['status'],
                  }))
                }
              >
                <option value="open">Open</option>
                <option value="closed">Closed</option>
                <option value="">All</option>
              </select>
            </div>
            <label className="inline">
              <input
                type="checkbox"
                checked={filters.mine}
                onChange={(e) => setFilters((f) => ({ ...f, mine: e.target.checked }))}
              />
              Assigned to me
            </label>
            <label className="inline">
              <input
                type="checkbox"
                checked={filters.unread}
                onChange={(e) => setFilters((f) => ({ ...f, unread: e.target.checked }))}
              />
              Unread only
            </label>
          </form>
          {filters.q ? (
            <p className="muted">
              Showing conversations with a message containing “{filters.q}”.{' '}
              <button
                type="button"
                className="secondary"
                onClick={() => {
                  setSearch('')
                  setFilters((f) => ({ ...f, q: '' }))
                }}
              >
                Clear search
              </button>
            </p>
          ) : null}
          {list.isPending ? (
            <Loading what="conversations" />
          ) : list.isError ? (
            <ErrorBox error={list.error} title="Conversations could not be loaded" />
          ) : conversations.length === 0 ? (
            <Empty title="No conversations here.">
              {filters.q || filters.mine || filters.unread || filters.status !== 'open'
                ? 'Change the filters above to see more.'
                : 'A conversation starts when someone texts one of your numbers; it appears here at once.'}
            </Empty>
          ) : (
            <ul className="conversation-list" aria-label="Conversations">
              {conversations.map((c) => (
                <ConversationItem key={c.id} c={c} current={c.id === id} />
              ))}
            </ul>
          )}
          <LoadMore query={list} label="Load more conversations" />
        </section>
        <section className="inbox-chat" aria-label="Conversation">
          {id ? (
            <>
              <Link href="/conversations" className="back-link">
                ← Back to the inbox
              </Link>
              <ChatView id={id} />
            </>
          ) : (
            <Empty title="Choose a conversation.">
              Pick one from the inbox to read its thread and reply.
            </Empty>
          )}
        </section>
      </div>
    </>
  )
}

function ConversationItem({ c, current }: { c: Conversation; current: boolean }) {
  return (
    <li className={`conversation-item${c.unread ? ' unread' : ''}`}>
      <Link
        href={`/conversations/${encodeURIComponent(c.id)}`}
        aria-current={current ? 'page' : undefined}
      >
        <span className="conversation-phone">{c.contact.phone}</span>
        <span className="conversation-meta">
          {c.unread ? <span className="badge badge-unread">Unread</span> : null}
          {c.status === 'closed' ? <span className="badge badge-closed">Closed</span> : null}
          {c.flags.length > 0 ? (
            <span className="badge badge-flag">Review: possible opt-out</span>
          ) : null}
        </span>
        <span className="muted conversation-sub">
          to {c.number} · {formatTime(c.lastMessageAt)}
        </span>
        <span className="muted conversation-sub">
          {c.assignee ? `Assigned to ${c.assignee}` : 'Unassigned'}
        </span>
      </Link>
    </li>
  )
}
