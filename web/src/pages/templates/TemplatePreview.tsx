import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { useEffect, useState } from 'react'
import { api } from '../../api'
import { ErrorBox } from '../../components/ui'
import type { Preview, VariableDecls, VariableType } from './types'

/** A value after `ms` without change (the preview asks the server at most that often). */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value)
  useEffect(() => {
    const timer = setTimeout(() => setV(value), ms)
    return () => clearTimeout(timer)
  }, [value, ms])
  return v
}

/** Sample values as typed in the inputs: currency as `amount currency`. */
export type Samples = Record<string, string>

/** The variables the body uses, in order of first use: `{{ name }}` and Liquid tags' operands. */
export function variablesIn(body: string): string[] {
  const names: string[] = []
  const add = (n: string | undefined) => {
    if (n && !names.includes(n) && !/^(true|false|nil|null|empty|blank)$/.test(n)) names.push(n)
  }
  for (const m of body.matchAll(/\{\{-?\s*([A-Za-z_][\w]*)/g)) add(m[1])
  for (const m of body.matchAll(
    /\{%-?\s*(?:if|unless|elsif|case|when|for\s+[A-Za-z_]\w*\s+in)\s+([A-Za-z_][\w]*)/g,
  ))
    add(m[1])
  return names
}

/** A sample typed in an input as the API takes it for the variable's type; undefined if blank. */
export function sampleValue(type: VariableType, raw: string | undefined): unknown {
  const s = (raw ?? '').trim()
  if (s === '') return undefined
  if (type === 'number') return Number.isFinite(Number(s)) ? Number(s) : s
  if (type === 'currency') {
    const [amount, currency] = s.split(/\s+/)
    return { amount: Number(amount), currency: (currency ?? 'USD').toUpperCase() }
  }
  return s
}

const PLACEHOLDER: Record<VariableType, string> = {
  string: 'Ana',
  number: '1234.5',
  date: '2026-03-05',
  currency: '99.90 BRL',
}

/** Labelled inputs for the sample value of each variable. */
export function SampleInputs({
  decls,
  samples,
  onChange,
}: {
  decls: VariableDecls
  samples: Samples
  onChange: (s: Samples) => void
}) {
  const names = Object.keys(decls)
  if (names.length === 0)
    return <p className="muted">The text uses no variables: there is nothing to fill in.</p>
  return (
    <fieldset className="tmpl-samples">
      <legend>Sample values for the preview</legend>
      <div className="row">
        {names.map((n) => (
          <label key={n}>
            Sample {n}
            <input
              value={samples[n] ?? ''}
              placeholder={PLACEHOLDER[decls[n]?.type ?? 'string']}
              onChange={(e) => onChange({ ...samples, [n]: e.target.value })}
            />
          </label>
        ))}
      </div>
    </fieldset>
  )
}

function HighlightedText({ text, forcing }: { text: string; forcing: Set<string> }) {
  const parts: (string | { c: string })[] = []
  for (const c of text) {
    const last = parts[parts.length - 1]
    if (forcing.has(c)) parts.push({ c })
    else if (typeof last === 'string') parts[parts.length - 1] = last + c
    else parts.push(c)
  }
  return (
    <p className="tmpl-text" data-testid="preview-text">
      {parts.map((p, i) =>
        typeof p === 'string' ? (
          p
        ) : (
          <mark key={i} title="Forces UCS-2">
            {p.c}
          </mark>
        ),
      )}
    </p>
  )
}

const codePoint = (c: string) =>
  'U+' + (c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')

const money = (amount: number, currency: string) => {
  try {
    return new Intl.NumberFormat(undefined, {
      style: 'currency',
      currency,
      maximumFractionDigits: 4,
    }).format(amount)
  } catch {
    return `${amount} ${currency}`
  }
}

/**
 * The live preview of a body (POST /v1/templates/preview, asked 250 ms after the last change):
 * the rendered text with the characters forcing UCS-2 marked, encoding, segments, and the cost
 * per country from the price table.
 */
export function TemplatePreview({
  body,
  decls,
  samples,
  locale,
}: {
  body: string
  decls: VariableDecls
  samples: Samples
  locale: string
}) {
  const variables: Record<string, unknown> = {}
  for (const [n, d] of Object.entries(decls)) {
    const v = sampleValue(d.type, samples[n])
    if (v !== undefined) variables[n] = v
  }
  const request = useDebounced(
    JSON.stringify({
      body,
      declarations: decls,
      variables,
      ...(locale.trim() ? { locale: locale.trim() } : {}),
    }),
    250,
  )
  const q = useQuery({
    queryKey: ['template-preview', request],
    queryFn: () =>
      api<Preview>('/v1/templates/preview', { method: 'POST', body: JSON.parse(request) }),
    // The debounced request, not the body as typed: it may still hold the text before it.
    enabled: (JSON.parse(request) as { body: string }).body.trim() !== '',
    placeholderData: keepPreviousData,
    retry: false,
    staleTime: 60_000,
  })
  if (body.trim() === '')
    return <p className="muted">Type the text to see how it renders, its encoding and its cost.</p>
  const p = q.data
  const forcing = new Set(p?.ucs2Characters ?? [])
  const replaced = (p?.nonGsmCharacters ?? []).filter((c) => !forcing.has(c.char))
  return (
    <section className="panel tmpl-preview" aria-labelledby="tmpl-preview-h">
      <h3 id="tmpl-preview-h">Preview</h3>
      {q.error ? <ErrorBox error={q.error} title="The text cannot be previewed" /> : null}
      {p ? (
        <div className="stack" aria-busy={q.isFetching}>
          <HighlightedText text={p.text} forcing={forcing} />
          <p className="counter" aria-live="polite" data-testid="preview-summary">
            {p.encoding} · {p.segments} segment{p.segments === 1 ? '' : 's'} · {p.charactersLeft}{' '}
            characters left in the last segment
          </p>
          {p.ucs2Characters.length > 0 ? (
            <p data-testid="preview-ucs2">
              Forcing UCS-2:{' '}
              {p.ucs2Characters.map((c) => (
                <span key={c} className="tmpl-char">
                  <mark>{c}</mark> <span className="muted">{codePoint(c)}</span>
                </span>
              ))}
            </p>
          ) : null}
          {replaced.length > 0 ? (
            <p className="muted">
              Sent as GSM-7 by smart encoding:{' '}
              {replaced.map((c) => `${c.char} → ${c.replacement ?? ''}`).join(', ')}
            </p>
          ) : null}
          {p.missing && p.missing.length > 0 ? (
            <p className="notice">
              No value for {p.missing.join(', ')}: shown as {'{{ name }}'}; a send without them is
              refused.
            </p>
          ) : null}
          {p.invalid && p.invalid.length > 0 ? (
            <p className="notice">
              Invalid sample: {p.invalid.map((i) => `${i.name} (${i.reason})`).join(', ')}
            </p>
          ) : null}
          {p.cost.length > 0 ? (
            <div className="table-wrap">
              <table>
                <caption className="muted">Cost per country (segments × price)</caption>
                <thead>
                  <tr>
                    <th scope="col">Country</th>
                    <th scope="col">Provider</th>
                    <th scope="col">Cost</th>
                  </tr>
                </thead>
                <tbody>
                  {p.cost.map((c) => (
                    <tr key={`${c.country} ${c.provider}`}>
                      <td>{c.country === '*' ? 'any other' : c.country}</td>
                      <td>{c.provider}</td>
                      <td>{money(c.amount, c.currency)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p className="muted">No prices are configured (PRICES): cost is not known.</p>
          )}
        </div>
      ) : q.isFetching ? (
        <p className="muted" role="status">
          Rendering…
        </p>
      ) : null}
    </section>
  )
}
