import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useId, useState, type FormEvent } from 'react'
import { Link, useLocation } from 'wouter'
import { api, type Page } from '../../api'
import { Empty, ErrorBox, formatTime, Loading, PageHeader, LoadMore } from '../../components/ui'
import { useEventStream } from '../../events'
import { useIsAdmin } from '../../session'
import type { Conversation } from '../conversations/types'
import {
  consentKey,
  fetchConsent,
  howInWords,
  scopeInWords,
  type ConsentHistoryEntry,
} from './consent'
import './contacts.css'

interface Suppression {
  phone: string
  scope: string
  since: string
}

const contactHref = (phone: string) => `/contacts/${encodeURIComponent(phone)}`

/**
 * Contacts and consent: look a number up, read its consent per scope and its ledger history,
 * record an opt-in or opt-out (admins); the start view lists the numbers opted out.
 */
export function ContactsPage({ phone }: { phone?: string }) {
  useEventStream(['consent.changed'])
  return (
    <>
      <PageHeader title="Contacts" />
      <Lookup key={phone ?? ''} initial={phone ?? ''} />
      {phone ? <Contact phone={phone} /> : <Suppressions />}
    </>
  )
}

function Lookup({ initial }: { initial: string }) {
  const [, navigate] = useLocation()
  const [value, setValue] = useState(initial)
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (value.trim()) navigate(contactHref(value.trim()))
  }
  return (
    <form className="row contact-lookup" role="search" onSubmit={submit}>
      <label>
        Phone number
        <input
          type="tel"
          value={value}
          maxLength={32}
          placeholder="+14155550123"
          onChange={(e) => setValue(e.target.value)}
        />
      </label>
      <button type="submit">Look up</button>
    </form>
  )
}

function Suppressions() {
  const list = useInfiniteQuery({
    queryKey: ['suppressions'],
    queryFn: ({ pageParam }) =>
      api<Page<Suppression>>('/v1/suppressions', { query: { limit: 50, cursor: pageParam } }),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  })
  const rows = list.data?.pages.flatMap((p) => p.data) ?? []
  return (
    <section aria-labelledby="suppressions-heading">
      <h2 id="suppressions-heading">Opted-out numbers</h2>
      <p className="muted">
        Every number and scope whose latest consent entry is an opt-out, newest first. Sends to them
        in that scope are refused.
      </p>
      {list.isPending ? (
        <Loading what="opted-out numbers" />
      ) : list.isError ? (
        <ErrorBox error={list.error} title="Opted-out numbers could not be loaded" />
      ) : rows.length === 0 ? (
        <Empty title="No number has opted out.">
          Numbers that text STOP, or that an admin records an opt-out for, are listed here. Look a
          number up above to see its consent history.
        </Empty>
      ) : (
        <div className="table-wrap" role="region" aria-label="Opted-out numbers" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">Number</th>
                <th scope="col">Opted out of</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={`${s.phone} ${s.scope}`}>
                  <td>
                    <Link href={contactHref(s.phone)}>{s.phone}</Link>
                  </td>
                  <td>{scopeInWords(s.scope)}</td>
                  <td>{formatTime(s.since)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore query={list} label="Load more" />
    </section>
  )
}

function Contact({ phone }: { phone: string }) {
  const isAdmin = useIsAdmin()
  const consent = useQuery({ queryKey: consentKey(phone), queryFn: () => fetchConsent(phone) })
  const e164 = consent.data?.phone
  const conversations = useQuery({
    queryKey: ['conversations', 'of-contact', e164],
    queryFn: () =>
      api<Page<Conversation>>('/v1/conversations', { query: { phone: e164, limit: 20 } }),
    enabled: e164 !== undefined,
  })

  if (consent.isPending) return <Loading what="consent" />
  if (consent.isError)
    return <ErrorBox error={consent.error} title="This number's consent could not be loaded" />
  const c = consent.data
  return (
    <section className="stack" aria-labelledby="contact-heading">
      <p>
        <Link href="/contacts">← All opted-out numbers</Link>
      </p>
      <h2 id="contact-heading">{c.phone}</h2>
      <div>
        {conversations.isError ? (
          <ErrorBox error={conversations.error} title="Conversations could not be loaded" />
        ) : conversations.data && conversations.data.data.length > 0 ? (
          <ul className="contact-conversations">
            {conversations.data.data.map((v) => (
              <li key={v.id}>
                <Link href={`/conversations/${encodeURIComponent(v.id)}`}>
                  Conversation with {v.number}
                </Link>{' '}
                <span className="muted">
                  ({v.status}, last message {formatTime(v.lastMessageAt)})
                </span>
              </li>
            ))}
          </ul>
        ) : conversations.data ? (
          <p className="muted">No conversation: this number has not texted any of yours.</p>
        ) : null}
      </div>

      <h3>Consent now</h3>
      {c.state.length === 0 ? (
        <Empty title="No consent recorded for this number.">
          Transactional messages may be sent to it; marketing needs an opt-in
          {isAdmin ? ' (record one below).' : '.'}
        </Empty>
      ) : (
        <div className="table-wrap" role="region" aria-label="Consent now" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">Scope</th>
                <th scope="col">State</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {c.state.map((s) => (
                <tr key={s.scope}>
                  <td>{scopeInWords(s.scope)}</td>
                  <td>
                    <span
                      className={`badge ${s.status === 'opted_out' ? 'badge-failed' : 'badge-delivered'}`}
                    >
                      {s.status === 'opted_out' ? 'Opted out' : 'Opted in'}
                    </span>
                  </td>
                  <td>{formatTime(s.since)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h3>History</h3>
      {c.history.length === 0 ? (
        <p className="muted">No ledger entry for this number yet.</p>
      ) : (
        <div className="table-wrap" role="region" aria-label="Consent history" tabIndex={0}>
          <table className="consent-history">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Entry</th>
                <th scope="col">Source</th>
                <th scope="col">Disclosure</th>
                <th scope="col">Evidence</th>
              </tr>
            </thead>
            <tbody>
              {[...c.history].reverse().map((h, i) => (
                <HistoryRow key={`${h.at} ${h.scope} ${i}`} h={h} />
              ))}
            </tbody>
          </table>
        </div>
      )}

      {isAdmin ? (
        <RecordConsent key={c.phone} phone={c.phone} />
      ) : (
        <p className="muted">
          Recording an opt-in or opt-out takes an admin: a consent entry is evidence.
        </p>
      )}
    </section>
  )
}

function HistoryRow({ h }: { h: ConsentHistoryEntry }) {
  const evidence = Object.entries(h.evidence ?? {})
  return (
    <tr>
      <td>{formatTime(h.at)}</td>
      <td>
        {h.action === 'opt_out' ? 'Opt-out' : 'Opt-in'} of {scopeInWords(h.scope)}
      </td>
      <td>
        {h.source} <span className="muted">({howInWords(h)})</span>
      </td>
      <td className="wrap-anywhere">{h.disclosure ?? '—'}</td>
      <td className="wrap-anywhere">
        {evidence.length === 0
          ? '—'
          : evidence.map(([k, v]) => (
              <div key={k}>
                <span className="muted">{k}:</span> {typeof v === 'string' ? v : JSON.stringify(v)}
              </div>
            ))}
      </td>
    </tr>
  )
}

type ScopeChoice = 'all' | 'marketing' | 'transactional' | 'sender'
const SOURCES = [
  ['api', 'Recorded by hand or by a program (api)'],
  ['web_form', 'A web form (web_form)'],
  ['import', 'An import from another system (import)'],
  ['provider', 'Reported by a provider (provider)'],
] as const

interface Recorded {
  action: 'opt_in' | 'opt_out'
  scope: string
  changed: boolean
}

function RecordConsent({ phone }: { phone: string }) {
  const queries = useQueryClient()
  const ids = useId()
  const [action, setAction] = useState<'opt_in' | 'opt_out'>('opt_out')
  const [scope, setScope] = useState<ScopeChoice>('all')
  const [sender, setSender] = useState('')
  const [source, setSource] = useState<(typeof SOURCES)[number][0]>('api')
  const [disclosure, setDisclosure] = useState('')
  const [formUrl, setFormUrl] = useState('')
  const [ip, setIp] = useState('')
  const [note, setNote] = useState('')
  const record = useMutation({
    mutationFn: () => {
      const evidence: Record<string, string> = {}
      if (formUrl.trim()) evidence.formUrl = formUrl.trim()
      if (ip.trim()) evidence.ip = ip.trim()
      if (note.trim()) evidence.note = note.trim()
      return api<Recorded>('/v1/consents', {
        method: 'POST',
        body: {
          phone,
          action,
          scope: scope === 'sender' ? sender.trim() : scope,
          source,
          disclosure: disclosure.trim() || null,
          evidence: Object.keys(evidence).length > 0 ? evidence : null,
        },
      })
    },
    onSuccess: () => {
      setDisclosure('')
      setFormUrl('')
      setIp('')
      setNote('')
      void queries.invalidateQueries({ queryKey: ['consents'] })
      void queries.invalidateQueries({ queryKey: ['suppressions'] })
    },
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    record.mutate()
  }
  const done = record.data
  return (
    <form className="panel stack record-consent" onSubmit={submit} aria-labelledby="record-heading">
      <h3 id="record-heading">Record an opt-in or opt-out</h3>
      <div className="row">
        <div className="field">
          <label htmlFor={`${ids}-action`}>Action</label>
          <select
            id={`${ids}-action`}
            value={action}
            onChange={(e) => setAction(e.target.value as 'opt_in' | 'opt_out')}
          >
            <option value="opt_out">Opt-out</option>
            <option value="opt_in">Opt-in</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-scope`}>Scope</label>
          <select
            id={`${ids}-scope`}
            value={scope}
            onChange={(e) => setScope(e.target.value as ScopeChoice)}
          >
            <option value="all">Every sender (all)</option>
            <option value="marketing">Marketing messages (marketing)</option>
            <option value="transactional">Transactional messages (transactional)</option>
            <option value="sender">One sender…</option>
          </select>
        </div>
        {scope === 'sender' ? (
          <label>
            Sender
            <input
              value={sender}
              required
              maxLength={32}
              placeholder="+15005550006"
              onChange={(e) => setSender(e.target.value)}
            />
          </label>
        ) : null}
        <div className="field">
          <label htmlFor={`${ids}-source`}>Source</label>
          <select
            id={`${ids}-source`}
            value={source}
            onChange={(e) => setSource(e.target.value as (typeof SOURCES)[number][0])}
          >
            {SOURCES.map(([v, words]) => (
              <option key={v} value={v}>
                {words}
              </option>
            ))}
          </select>
        </div>
      </div>
      <label>
        Disclosure (the text the person agreed to, or its version)
        <input
          value={disclosure}
          maxLength={5000}
          onChange={(e) => setDisclosure(e.target.value)}
        />
      </label>
      <fieldset className="row evidence">
        <legend>Evidence (what proves it; optional)</legend>
        <label>
          Form URL
          <input
            type="url"
            value={formUrl}
            maxLength={2000}
            onChange={(e) => setFormUrl(e.target.value)}
          />
        </label>
        <label>
          IP address
          <input value={ip} maxLength={64} onChange={(e) => setIp(e.target.value)} />
        </label>
        <label className="evidence-note">
          Note
          <input
            value={note}
            maxLength={2000}
            placeholder="Asked by phone call on …"
            onChange={(e) => setNote(e.target.value)}
          />
        </label>
      </fieldset>
      <ErrorBox error={record.error} title="Nothing was recorded" />
      {done && !record.isPending ? (
        <p className="notice" role="status">
          Recorded: {done.action === 'opt_out' ? 'opt-out' : 'opt-in'} of {scopeInWords(done.scope)}
          . {done.changed ? 'The number’s state changed.' : 'The state was already that.'}
        </p>
      ) : null}
      <div>
        <button type="submit" disabled={record.isPending}>
          {action === 'opt_out' ? 'Record opt-out' : 'Record opt-in'}
        </button>
      </div>
    </form>
  )
}
