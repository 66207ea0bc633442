import { useQuery } from '@tanstack/react-query'
import type { ReactNode } from 'react'
import { Link } from 'wouter'
import { ApiError, api } from '../../api'
import { Empty, ErrorBox, formatTime, Loading, PageHeader, StatusBadge } from '../../components/ui'
import './messages.css'
import {
  isFinalStatus,
  formatMoney,
  type MessageWithEvents,
  type MessagePart,
  type SendAttempt,
  type WebhookDelivery,
} from './types'

/** While a message can still change, its page asks again every 2 s. */
const POLL_MS = 2000

export function MessageDetail({ id }: { id: string }) {
  const path = `/v1/messages/${encodeURIComponent(id)}`
  const message = useQuery({
    queryKey: ['messages', 'one', id],
    queryFn: () => api<MessageWithEvents>(path),
    refetchInterval: (q) => (q.state.data && isFinalStatus(q.state.data.status) ? false : POLL_MS),
    retry: (n, e) => !(e instanceof ApiError && e.status === 404) && n < 2,
  })
  const live = message.data ? !isFinalStatus(message.data.status) : false
  const attempts = useQuery({
    queryKey: ['messages', 'attempts', id],
    queryFn: () => api<{ data: SendAttempt[] }>(`${path}/attempts`),
    enabled: message.isSuccess,
    refetchInterval: live ? POLL_MS : false,
  })
  const parts = useQuery({
    queryKey: ['messages', 'parts', id],
    queryFn: () => api<{ data: MessagePart[] }>(`${path}/parts`),
    enabled: message.isSuccess,
    refetchInterval: live ? POLL_MS : false,
  })
  const webhooks = useQuery({
    queryKey: ['messages', 'webhooks', id],
    queryFn: () => api<{ data: WebhookDelivery[] }>(`${path}/webhooks`),
    enabled: message.isSuccess,
    // Deliveries go on after the message is final: follow them until none is pending.
    refetchInterval: (q) =>
      live || (q.state.data?.data ?? []).some((d) => d.status === 'pending') ? POLL_MS : false,
  })

  if (message.isPending)
    return (
      <>
        <PageHeader title="Message" />
        <Loading what="the message" />
      </>
    )
  if (message.isError) {
    const gone = message.error instanceof ApiError && message.error.status === 404
    return (
      <>
        <PageHeader title="Message" />
        {gone ? (
          <Empty title={`There is no message ${id}.`}>
            <p>
              It may have been erased by the retention settings or a privacy request.{' '}
              <Link href="/messages">Back to the message log</Link>
            </p>
          </Empty>
        ) : (
          <ErrorBox error={message.error} title="The message could not be read" />
        )}
      </>
    )
  }
  const m = message.data
  const price = m.cost.actual ?? m.cost.estimated
  return (
    <div className="stack msg-detail">
      <PageHeader title="Message">
        <Link href="/messages">Back to the log</Link>
      </PageHeader>
      <p className="mono break">{m.id}</p>
      <p className="status-line" data-testid="message-status">
        Status: <StatusBadge status={m.status} />
        {live ? <span className="muted"> (updating every 2 seconds)</span> : null}
      </p>
      {m.errorCode ? (
        <div className="error" role="note">
          {m.errorMessage ?? 'It failed.'} <code className="code">{m.errorCode}</code>
        </div>
      ) : null}

      <section aria-labelledby="msg-body" className="panel">
        <h2 id="msg-body">Text</h2>
        <p className="msg-body">{m.body}</p>
      </section>

      <section aria-labelledby="msg-facts">
        <h2 id="msg-facts">Details</h2>
        <dl className="facts">
          <Fact term="Direction">{m.direction}</Fact>
          <Fact term="To">
            <span className="mono">{m.to}</span>
          </Fact>
          <Fact term="From">
            <span className="mono">{m.from ?? '—'}</span>
          </Fact>
          <Fact term="Sender used">
            <span className="mono">{m.sender ?? '—'}</span>
          </Fact>
          <Fact term="Type">{m.type}</Fact>
          <Fact term="Provider">{m.provider ?? '—'}</Fact>
          <Fact term="Provider's id">
            <span className="mono break">{m.providerMessageId ?? '—'}</span>
          </Fact>
          <Fact term="Encoding">
            {m.encoding}
            {m.smartEncoding ? ' (smart encoding on)' : ''}
          </Fact>
          <Fact term="Parts">
            {m.segments} segment{m.segments === 1 ? '' : 's'} of up to{' '}
            {m.encoding === 'GSM-7'
              ? m.segments > 1
                ? '153 GSM-7 characters'
                : '160 GSM-7 characters'
              : m.segments > 1
                ? '67 UCS-2 characters'
                : '70 UCS-2 characters'}
          </Fact>
          <Fact term="Estimated cost">{formatMoney(m.cost.estimated)}</Fact>
          <Fact term="Provider's price">{formatMoney(m.cost.actual)}</Fact>
          <Fact term="Template">
            {m.template ? (
              <Link href={`/templates/${encodeURIComponent(m.template.name)}`}>
                {m.template.name} v{m.template.version} ({m.template.locale})
              </Link>
            ) : (
              'none'
            )}
          </Fact>
          <Fact term="Created">{formatTime(m.createdAt)}</Fact>
          <Fact term="Scheduled for">{formatTime(m.sendAt)}</Fact>
          <Fact term="Sent">{formatTime(m.sentAt)}</Fact>
          <Fact term="Completed">{formatTime(m.completedAt)}</Fact>
          <Fact term="Valid until">{formatTime(m.validUntil)}</Fact>
          <Fact term="Status callback">
            <span className="break">{m.statusCallback ?? '—'}</span>
          </Fact>
          {m.metadata ? (
            <Fact term="Metadata">
              <code className="break">{JSON.stringify(m.metadata)}</code>
            </Fact>
          ) : null}
        </dl>
        {price ? null : (
          <p className="muted small">
            No cost is known: the price table has no entry for this provider and destination.
          </p>
        )}
      </section>

      <section aria-labelledby="msg-timeline">
        <h2 id="msg-timeline">Status timeline</h2>
        {m.events.length === 0 ? (
          <Empty title="No status change recorded yet." />
        ) : (
          <ol className="timeline" data-testid="timeline">
            {m.events.map((e, i) => (
              <li key={i}>
                <StatusBadge status={e.status} /> <time dateTime={e.at}>{formatTime(e.at)}</time>
                {e.errorCode ? (
                  <>
                    {' '}
                    <code>{e.errorCode}</code>
                  </>
                ) : null}
                {e.detail ? <span className="muted"> {e.detail}</span> : null}
              </li>
            ))}
          </ol>
        )}
      </section>

      <section aria-labelledby="msg-attempts">
        <h2 id="msg-attempts">Send attempts</h2>
        {attempts.isError ? (
          <ErrorBox error={attempts.error} title="Attempts could not be read" />
        ) : !attempts.data ? (
          <Loading what="attempts" />
        ) : attempts.data.data.length === 0 ? (
          <Empty
            title={
              m.direction === 'inbound'
                ? 'A received SMS has no send attempts.'
                : 'No attempt yet: the message waits for its turn.'
            }
          />
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Attempt</th>
                  <th scope="col">Provider</th>
                  <th scope="col">Sender</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Started</th>
                  <th scope="col">Latency</th>
                  <th scope="col">Cost</th>
                </tr>
              </thead>
              <tbody>
                {attempts.data.data.map((a) => (
                  <tr key={a.attempt}>
                    <td>{a.attempt}</td>
                    <td>{a.provider}</td>
                    <td className="mono">{a.sender ?? '—'}</td>
                    <td>
                      {a.outcome}
                      {a.errorCode ? (
                        <>
                          {' '}
                          <code>{a.errorCode}</code>
                        </>
                      ) : null}
                    </td>
                    <td>{formatTime(a.startedAt)}</td>
                    <td>{a.latencyMs} ms</td>
                    <td>{formatMoney(a.cost)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="msg-parts">
        <h2 id="msg-parts">Parts</h2>
        {parts.isError ? (
          <ErrorBox error={parts.error} title="Parts could not be read" />
        ) : !parts.data ? (
          <Loading what="parts" />
        ) : parts.data.data.length === 0 ? (
          <Empty title="No part yet: parts appear once a provider accepts the message." />
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Attempt</th>
                  <th scope="col">Part</th>
                  <th scope="col">Provider id</th>
                  <th scope="col">Status</th>
                  <th scope="col">Price</th>
                </tr>
              </thead>
              <tbody data-testid="parts">
                {parts.data.data.map((p) => (
                  <tr key={`${p.provider}/${p.providerMessageId}`}>
                    <td>{p.attempt}</td>
                    <td>
                      {p.part} of {p.parts}
                    </td>
                    <td className="mono">
                      {p.provider}: {p.providerMessageId}
                    </td>
                    <td>
                      {p.status ?? 'no report yet'}
                      {p.errorCode ? (
                        <>
                          {' '}
                          <code>{p.errorCode}</code>
                        </>
                      ) : null}
                    </td>
                    <td>{formatMoney(p.price)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="msg-webhooks">
        <h2 id="msg-webhooks">Webhook deliveries</h2>
        {webhooks.isError ? (
          <ErrorBox error={webhooks.error} title="Webhook deliveries could not be read" />
        ) : !webhooks.data ? (
          <Loading what="webhook deliveries" />
        ) : webhooks.data.data.length === 0 ? (
          <Empty title="No webhook delivery for this message.">
            <p>
              Status changes are posted to the message&apos;s <code>statusCallback</code> or to the
              webhook endpoints an admin registers in Settings.
            </p>
          </Empty>
        ) : (
          <ul className="stack plain-list">
            {webhooks.data.data.map((d) => (
              <li key={d.id} className="panel">
                <p>
                  <strong>{d.eventType}</strong> to <span className="break">{d.url}</span>:{' '}
                  <StatusBadge status={d.status} /> after {d.attempts} attempt
                  {d.attempts === 1 ? '' : 's'}
                  {d.nextAttemptAt ? `, next at ${formatTime(d.nextAttemptAt)}` : ''}
                </p>
                {d.attemptLog.length > 0 ? (
                  <div className="table-wrap">
                    <table>
                      <caption className="visually-hidden">Attempts of {d.eventType}</caption>
                      <thead>
                        <tr>
                          <th scope="col">Attempt</th>
                          <th scope="col">At</th>
                          <th scope="col">Answer</th>
                          <th scope="col">Duration</th>
                        </tr>
                      </thead>
                      <tbody>
                        {d.attemptLog.map((a) => (
                          <tr key={a.attempt}>
                            <td>{a.attempt}</td>
                            <td>{formatTime(a.at)}</td>
                            <td>
                              {a.statusCode !== null ? `HTTP ${a.statusCode}` : ''}
                              {a.error ? <code> {a.error}</code> : null}
                            </td>
                            <td>{a.durationMs === null ? '—' : `${a.durationMs} ms`}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  )
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  )
}
