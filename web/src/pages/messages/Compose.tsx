import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useEffect, useId, useState, type FormEvent } from 'react'
import { Link } from 'wouter'
import { api, type Page } from '../../api'
import { SegmentCounter } from '../../components/SegmentCounter'
import { ErrorBox, StatusBadge } from '../../components/ui'
import { useCanWrite } from '../../session'
import { Field } from './Field'
import type { Message } from './types'

interface TemplateSummary {
  name: string
  defaultLocale: string
  archived: boolean
}
interface VariableDecl {
  type: 'string' | 'number' | 'date' | 'currency'
  default?: unknown
}
interface TemplateView {
  name: string
  defaultLocale: string
  locales: {
    locale: string
    versions: { version: number; variables: Record<string, VariableDecl> }[]
  }[]
}
interface Preview {
  text: string
  encoding: 'GSM-7' | 'UCS-2'
  segments: number
  missing?: string[]
  invalid?: { name: string; reason: string }[]
}
type VariableValue = string | number | { amount: number; currency: string }

/** The variables as POST /v1/messages takes them: empty inputs left out (defaults apply). */
function variableValues(
  decls: Record<string, VariableDecl>,
  inputs: Record<string, string>,
): Record<string, VariableValue> {
  const out: Record<string, VariableValue> = {}
  for (const [name, d] of Object.entries(decls)) {
    const v = (inputs[name] ?? '').trim()
    if (d.type === 'currency') {
      const amount = (inputs[`${name}.amount`] ?? '').trim()
      const currency = (inputs[`${name}.currency`] ?? '').trim().toUpperCase()
      if (amount !== '' && currency !== '') out[name] = { amount: Number(amount), currency }
    } else if (v !== '') {
      out[name] = d.type === 'number' && Number.isFinite(Number(v)) ? Number(v) : v
    }
  }
  return out
}

/** Waits `ms` after the last change of `value` (the preview is asked for once typing pauses). */
function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value)
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms)
    return () => clearTimeout(t)
  }, [value, ms])
  return v
}

export function Compose() {
  const canWrite = useCanWrite()
  const ids = useId()
  const qc = useQueryClient()
  const [to, setTo] = useState('')
  const [body, setBody] = useState('')
  const [type, setType] = useState<'transactional' | 'marketing'>('transactional')
  const [template, setTemplate] = useState('')
  const [inputs, setInputs] = useState<Record<string, string>>({})

  // Templates are read only by those who may send: a viewer's form stays disabled.
  const templates = useQuery({
    queryKey: ['templates', 'list'],
    queryFn: () => api<Page<TemplateSummary>>('/v1/templates', { query: { limit: 200 } }),
    enabled: canWrite,
  })
  const chosen = useQuery({
    queryKey: ['templates', 'one', template],
    queryFn: () => api<TemplateView>(`/v1/templates/${encodeURIComponent(template)}`),
    enabled: canWrite && template !== '',
  })
  const decls: Record<string, VariableDecl> = (() => {
    const t = chosen.data
    if (!t || t.name !== template) return {}
    const l = t.locales.find((x) => x.locale === t.defaultLocale) ?? t.locales[0]
    return l?.versions[0]?.variables ?? {}
  })()
  const variables = variableValues(decls, inputs)
  const previewArgs = useDebounced(JSON.stringify({ template, variables }), 250)
  // The debounced arguments lag the picker by 250 ms: ask only once they name this template.
  const previewOfChosen = (JSON.parse(previewArgs) as { template: string }).template === template
  const preview = useQuery({
    queryKey: ['templates', 'preview', previewArgs],
    queryFn: () =>
      api<Preview>('/v1/templates/preview', {
        method: 'POST',
        body: JSON.parse(previewArgs) as unknown,
      }),
    enabled: canWrite && template !== '' && chosen.isSuccess && previewOfChosen,
    placeholderData: (prev) => prev,
  })

  const send = useMutation({
    mutationFn: () =>
      api<Message>('/v1/messages', {
        method: 'POST',
        body: template ? { to, template, variables, type } : { to, body, type },
      }),
    onSuccess: () => {
      setBody('')
      void qc.invalidateQueries({ queryKey: ['messages', 'list'] })
    },
  })

  const onSubmit = (e: FormEvent) => {
    e.preventDefault()
    if (canWrite) send.mutate()
  }
  const pickTemplate = (name: string) => {
    setTemplate(name)
    setInputs({})
    send.reset()
  }
  const setInput = (k: string, v: string) => setInputs((p) => ({ ...p, [k]: v }))
  const roleNote = `${ids}-role`

  return (
    <section aria-labelledby={`${ids}-title`} className="panel compose">
      <h2 id={`${ids}-title`}>Send a message</h2>
      {canWrite ? null : (
        <p className="notice" id={roleNote}>
          Viewers can read only: sending needs the agent or admin role.
        </p>
      )}
      <form onSubmit={onSubmit} aria-describedby={canWrite ? undefined : roleNote}>
        <fieldset disabled={!canWrite || send.isPending} className="stack plain">
          <legend className="visually-hidden">New message</legend>
          <div className="row">
            <Field label="To">
              {(id) => (
                <input
                  id={id}
                  type="tel"
                  autoComplete="off"
                  required
                  placeholder="+14155550100"
                  value={to}
                  onChange={(e) => setTo(e.target.value)}
                />
              )}
            </Field>
            <Field label="Type">
              {(id) => (
                <select
                  id={id}
                  value={type}
                  onChange={(e) => setType(e.target.value as 'transactional' | 'marketing')}
                >
                  <option value="transactional">transactional</option>
                  <option value="marketing">marketing (needs consent)</option>
                </select>
              )}
            </Field>
            <Field label="Template">
              {(id) => (
                <select id={id} value={template} onChange={(e) => pickTemplate(e.target.value)}>
                  <option value="">None: write the text</option>
                  {(templates.data?.data ?? [])
                    .filter((t) => !t.archived)
                    .map((t) => (
                      <option key={t.name} value={t.name}>
                        {t.name}
                      </option>
                    ))}
                </select>
              )}
            </Field>
          </div>
          {templates.isError ? (
            <ErrorBox error={templates.error} title="Templates could not be read" />
          ) : null}

          {template === '' ? (
            <div className="stack tight">
              <Field label="Message">
                {(id) => (
                  <textarea
                    id={id}
                    required
                    value={body}
                    onChange={(e) => setBody(e.target.value)}
                    aria-describedby={`${ids}-counter`}
                  />
                )}
              </Field>
              <SegmentCounter body={body} id={`${ids}-counter`} />
            </div>
          ) : (
            <TemplateFields
              decls={decls}
              inputs={inputs}
              setInput={setInput}
              loading={chosen.isPending}
              error={chosen.error ?? preview.error}
              preview={preview.data}
            />
          )}
          <div className="row">
            <button type="submit">{send.isPending ? 'Sending…' : 'Send'}</button>
          </div>
        </fieldset>
      </form>
      {send.isError ? <ErrorBox error={send.error} title="Not sent" /> : null}
      {send.isSuccess ? (
        <p role="status" className="sent">
          Sent: <Link href={`/messages/${encodeURIComponent(send.data.id)}`}>{send.data.id}</Link>{' '}
          <StatusBadge status={send.data.status} /> ({send.data.segments} segment
          {send.data.segments === 1 ? '' : 's'}, {send.data.encoding})
        </p>
      ) : null}
    </section>
  )
}

function TemplateFields(props: {
  decls: Record<string, VariableDecl>
  inputs: Record<string, string>
  setInput: (k: string, v: string) => void
  loading: boolean
  error: unknown
  preview: Preview | undefined
}) {
  const { decls, inputs, setInput, preview } = props
  const names = Object.keys(decls)
  if (props.loading) return <p className="muted">Reading the template…</p>
  return (
    <div className="stack tight">
      {names.length === 0 ? (
        <p className="muted">This template has no variables.</p>
      ) : (
        <fieldset className="row plain">
          <legend>Variables</legend>
          {names.map((name) => {
            const d = decls[name]!
            const hint = d.default !== undefined ? ` (default ${JSON.stringify(d.default)})` : ''
            if (d.type === 'currency')
              return (
                <div className="row" key={name}>
                  <Field label={`${name} amount`}>
                    {(id) => (
                      <input
                        id={id}
                        type="number"
                        step="any"
                        value={inputs[`${name}.amount`] ?? ''}
                        onChange={(e) => setInput(`${name}.amount`, e.target.value)}
                      />
                    )}
                  </Field>
                  <Field label={`${name} currency`}>
                    {(id) => (
                      <input
                        id={id}
                        maxLength={3}
                        size={4}
                        placeholder="USD"
                        value={inputs[`${name}.currency`] ?? ''}
                        onChange={(e) => setInput(`${name}.currency`, e.target.value)}
                      />
                    )}
                  </Field>
                </div>
              )
            return (
              <Field key={name} label={name} hint={`${d.type}${hint}`}>
                {(id, hintId) => (
                  <input
                    id={id}
                    type={d.type === 'number' ? 'number' : 'text'}
                    step={d.type === 'number' ? 'any' : undefined}
                    placeholder={d.type === 'date' ? '2026-03-05' : undefined}
                    value={inputs[name] ?? ''}
                    onChange={(e) => setInput(name, e.target.value)}
                    aria-describedby={hintId}
                  />
                )}
              </Field>
            )
          })}
        </fieldset>
      )}
      {props.error ? <ErrorBox error={props.error} title="Preview" /> : null}
      {preview ? (
        <div className="preview" aria-live="polite">
          <p className="muted small">Preview</p>
          <p className="preview-text" data-testid="template-preview">
            {preview.text}
          </p>
          <p className="counter">
            {preview.encoding} · {preview.segments} segment{preview.segments === 1 ? '' : 's'}
            {preview.missing?.length ? ` · missing: ${preview.missing.join(', ')}` : ''}
            {preview.invalid?.length
              ? ` · invalid: ${preview.invalid.map((i) => `${i.name} (${i.reason})`).join(', ')}`
              : ''}
          </p>
        </div>
      ) : null}
    </div>
  )
}
