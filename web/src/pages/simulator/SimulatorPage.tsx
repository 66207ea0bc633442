import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useEffect, useRef, useState, type FormEvent } from 'react'
import { Link, useLocation } from 'wouter'
import { api, ApiError, type Page } from '../../api'
import { Empty, ErrorBox, formatTime, Loading, PageHeader } from '../../components/ui'
import { useIsAdmin } from '../../session'
import './simulator.css'

/** GET /v1/simulator/phones (docs/simulator.md). */
interface PhonesAnswer {
  simulatorNumbers: string[]
  data: { number: string; received: number; sent: number; lastAt: string }[]
}
/** What the phone received: GET /v1/simulator/phones/{number}/messages. */
interface PhoneMessage {
  id: string
  from: string
  to: string
  body: string
  at: string
}
/** What the phone sent: its inbound messages (GET /v1/messages?direction=inbound&from=). */
interface InboundMessage {
  id: string
  from: string | null
  to: string
  body: string
  createdAt: string
  completedAt: string | null
}
interface ProvidersAnswer {
  data: { name: string; type: string }[]
}

/** A line of the thread, on the phone's screen: received (left) or sent (right). */
interface Line {
  id: string
  mine: boolean
  body: string
  at: string
  other: string
}

const POLL_MS = 2_000
const E164 = /^\+[1-9][0-9]{6,14}$/
const QUICK_REPLIES = ['STOP', 'START', 'HELP'] as const

const phonePath = (n: string) => `/simulator/${encodeURIComponent(n)}`
const isNotConfigured = (e: unknown) => e instanceof ApiError && e.status === 404

/**
 * The simulator's fake phones as chat threads (docs/dashboard.md#simulator-phones): what each
 * number received, what it texted back, and a box to reply as that phone. Admin only, as the
 * reply route is; nothing is fetched for another role.
 */
export function SimulatorPage({ number }: { number?: string }) {
  const admin = useIsAdmin()
  return (
    <div className="stack">
      <PageHeader title="Simulator phones" />
      {admin ? (
        <SimulatorForAdmin number={number} />
      ) : (
        <Empty title="The simulator phones are for administrators.">
          Ask an administrator to reply as a simulated phone.
        </Empty>
      )}
    </div>
  )
}

function SimulatorForAdmin({ number }: { number?: string }) {
  // Is an in-process simulator configured? Its instances have type `simulator` (a remote one,
  // `simulator-http`, is a gateway like any other): asked first, so the simulator routes are
  // not called when they would answer 404.
  const providers = useQuery({
    queryKey: ['providers'],
    queryFn: () => api<ProvidersAnswer>('/v1/providers'),
  })
  if (providers.isPending) return <Loading what="the simulator" />
  if (providers.error) return <ErrorBox error={providers.error} title="Providers" />
  if (!providers.data.data.some((p) => p.type === 'simulator')) return <NotConfigured />
  return <Phones number={number} />
}

function NotConfigured({ error }: { error?: unknown }) {
  return (
    <section className="panel stack" aria-labelledby="sim-off">
      <h2 id="sim-off">No simulator is configured</h2>
      <p>
        This server sends through real gateways only, so there are no simulated phones to show.
        {error instanceof ApiError ? (
          <>
            {' '}
            (The simulator routes answered <code className="code">{error.code}</code>.)
          </>
        ) : null}
      </p>
      <p>
        The built-in simulator is the provider when <code>PROVIDERS</code> is not set. To keep it
        beside real gateways, add an instance of type <code>simulator</code> to{' '}
        <code>PROVIDERS</code>, for example <code>{'{ "name": "sim", "type": "simulator" }'}</code>,
        route test numbers to it in <code>ROUTES</code>, and restart. Its numbers are{' '}
        <code>SIMULATOR_NUMBERS</code> (default <code>+15005550006</code>). A simulator reached with{' '}
        <code>SIMULATOR_URL</code> runs in another process and has no phones here.
      </p>
    </section>
  )
}

function Phones({ number }: { number?: string }) {
  const phones = useQuery({
    queryKey: ['simulator', 'phones'],
    queryFn: () => api<PhonesAnswer>('/v1/simulator/phones'),
    refetchInterval: (q) => (isNotConfigured(q.state.error) ? false : POLL_MS),
  })
  if (phones.isPending) return <Loading what="the phones" />
  if (isNotConfigured(phones.error)) return <NotConfigured error={phones.error} />
  const list = phones.data?.data ?? []
  return (
    <div className="sim-layout">
      <section className="sim-phones stack" aria-labelledby="sim-list">
        <h2 id="sim-list">Phones</h2>
        <OpenPhone />
        {phones.error ? <ErrorBox error={phones.error} title="Phones" /> : null}
        {list.length === 0 ? (
          <Empty title="No phone has received a message yet.">
            Send a message to any number from <Link href="/messages">Messages</Link>; it arrives
            here.
          </Empty>
        ) : (
          <ul className="sim-phone-list" aria-label="Simulated phones">
            {list.map((p) => (
              <li key={p.number}>
                <Link
                  href={phonePath(p.number)}
                  aria-current={p.number === number ? 'page' : undefined}
                >
                  <span className="mono">{p.number}</span>
                  <span className="muted sim-meta">
                    {p.received} received, {p.sent} sent · {formatTime(p.lastAt)}
                  </span>
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>
      {number ? (
        <Phone
          key={number}
          number={number}
          simulatorNumbers={phones.data?.simulatorNumbers ?? []}
        />
      ) : (
        <section className="sim-screen" aria-label="Phone">
          <Empty title="Choose a phone.">
            Pick one from the list, or open any number. Send a message to any number from{' '}
            <Link href="/messages">Messages</Link>; it arrives here.
          </Empty>
        </section>
      )}
    </div>
  )
}

function OpenPhone() {
  const [, navigate] = useLocation()
  const [value, setValue] = useState('')
  const [problem, setProblem] = useState<string | null>(null)
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const n = value.replace(/[\s().-]/g, '')
    if (!E164.test(n)) {
      setProblem('Give the number in E.164 form: + and country code, such as +14155550123.')
      return
    }
    setProblem(null)
    setValue('')
    navigate(phonePath(n))
  }
  return (
    <form className="row" onSubmit={submit} noValidate>
      <label className="sim-grow">
        Open a phone
        <input
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder="+14155550123"
          inputMode="tel"
          autoComplete="off"
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? 'sim-open-problem' : undefined}
        />
      </label>
      <button type="submit" className="secondary">
        Open
      </button>
      {problem ? (
        <p id="sim-open-problem" className="error sim-full" role="alert">
          {problem}
        </p>
      ) : null}
    </form>
  )
}

function Phone({ number, simulatorNumbers }: { number: string; simulatorNumbers: string[] }) {
  const client = useQueryClient()
  const valid = E164.test(number)
  const received = useQuery({
    queryKey: ['simulator', 'phone', number, 'received'],
    queryFn: () =>
      api<{ data: PhoneMessage[] }>(`/v1/simulator/phones/${encodeURIComponent(number)}/messages`, {
        query: { limit: 200 },
      }),
    enabled: valid,
    refetchInterval: POLL_MS,
  })
  const sent = useQuery({
    queryKey: ['simulator', 'phone', number, 'sent'],
    queryFn: () =>
      api<Page<InboundMessage>>('/v1/messages', {
        query: { direction: 'inbound', from: number, limit: 200 },
      }),
    enabled: valid,
    refetchInterval: POLL_MS,
  })

  // Replies go to the simulator number the phone last heard from, else the first one.
  const lastHeard = received.data?.data[0]?.from
  const to =
    lastHeard && simulatorNumbers.includes(lastHeard) ? lastHeard : (simulatorNumbers[0] ?? '')

  const reply = useMutation({
    mutationFn: (body: string) =>
      api('/v1/simulator/inbound', {
        method: 'POST',
        body: { from: number, ...(to ? { to } : {}), body },
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['simulator'] }),
  })

  const lines: Line[] = [
    ...(received.data?.data ?? []).map((m) => ({
      id: m.id,
      mine: false,
      body: m.body,
      at: m.at,
      other: m.from,
    })),
    ...(sent.data?.data ?? []).map((m) => ({
      id: m.id,
      mine: true,
      body: m.body,
      at: m.completedAt ?? m.createdAt,
      other: m.to,
    })),
  ].sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id))

  const [draft, setDraft] = useState('')
  const send = (body: string, fromBox: boolean) => {
    reply.mutate(body, {
      onSuccess: () => {
        if (fromBox) setDraft('')
      },
    })
  }

  // Keep the newest line in view as the thread grows.
  const log = useRef<HTMLDivElement>(null)
  const count = lines.length
  useEffect(() => {
    const el = log.current
    if (el) el.scrollTop = el.scrollHeight
  }, [count])

  if (!valid) {
    return (
      <section className="sim-screen" aria-label="Phone">
        <ErrorBox
          error={`${number} is not a phone number in E.164 form (+ and country code, such as +14155550123).`}
        />
      </section>
    )
  }

  return (
    <section className="sim-screen stack" aria-labelledby="sim-phone">
      <h2 id="sim-phone">
        Phone <span className="mono">{number}</span>
      </h2>
      {received.error ? <ErrorBox error={received.error} title="Received" /> : null}
      {sent.error ? <ErrorBox error={sent.error} title="Sent" /> : null}
      <div
        ref={log}
        className="sim-thread"
        role="log"
        aria-label={`Messages of ${number}`}
        tabIndex={0}
      >
        {received.isPending || sent.isPending ? (
          <Loading what="the thread" />
        ) : lines.length === 0 ? (
          <Empty title="This phone has no messages yet.">
            Send a message to {number} from <Link href="/messages">Messages</Link>; it arrives here.
            Or text the simulator from this phone below.
          </Empty>
        ) : (
          <ol className="sim-bubbles">
            {lines.map((l) => (
              <li key={l.id} className={l.mine ? 'sim-bubble sim-mine' : 'sim-bubble sim-theirs'}>
                <span className="sim-sr">
                  {l.mine ? `Sent to ${l.other}: ` : `Received from ${l.other}: `}
                </span>
                <span className="sim-body">{l.body}</span>
                <span className="sim-time">
                  {l.mine ? 'sent' : `from ${l.other}`} · {formatTime(l.at)}
                </span>
              </li>
            ))}
          </ol>
        )}
      </div>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault()
          if (draft.trim()) send(draft, true)
        }}
      >
        <label>
          Reply as phone
          <textarea
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            rows={2}
            maxLength={1600}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey) {
                e.preventDefault()
                if (draft.trim()) send(draft, true)
              }
            }}
          />
        </label>
        <div className="row sim-actions">
          <button type="submit" disabled={reply.isPending || !draft.trim()}>
            Send as phone
          </button>
          <span className="muted" aria-label="Quick replies" role="group">
            {QUICK_REPLIES.map((k) => (
              <button
                key={k}
                type="button"
                className="secondary sim-quick"
                disabled={reply.isPending}
                onClick={() => send(k, false)}
              >
                {k}
              </button>
            ))}
          </span>
        </div>
        <p className="muted sim-hint">
          Texts {to ? <span className="mono">{to}</span> : 'the simulator'}, as a gateway would
          deliver it: STOP opts the phone out, START back in, HELP asks for help.
        </p>
        <ErrorBox error={reply.error} title="Not sent" />
      </form>
    </section>
  )
}
