import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useState, type FormEvent } from 'react'
import { api } from '../../api'
import { ErrorBox } from '../../components/ui'
import { SampleInputs, TemplatePreview, variablesIn, type Samples } from './TemplatePreview'
import type { TemplateVersion, VariableDecl, VariableDecls, VariableType } from './types'

const TYPES: VariableType[] = ['string', 'number', 'date', 'currency']

export interface EditorSeed {
  locale: string
  body: string
  variables: VariableDecls
}

/**
 * Creates a template (with its name) or a new version of one (POST /v1/templates), with the
 * live preview beside it. Admins only: template text is product wording.
 */
export function TemplateEditor({
  name: fixedName,
  seed,
  onSaved,
}: {
  /** The template a new version is for; absent: a new template, named in the form. */
  name?: string
  seed?: EditorSeed
  onSaved: (v: TemplateVersion) => void
}) {
  const id = useId()
  const qc = useQueryClient()
  const [name, setName] = useState(fixedName ?? '')
  const [locale, setLocale] = useState(seed?.locale ?? 'en')
  const [body, setBody] = useState(seed?.body ?? '')
  // Types and defaults chosen per variable name, kept when a name leaves the body and returns.
  const [chosen, setChosen] = useState<Record<string, VariableDecl>>(seed?.variables ?? {})
  const [samples, setSamples] = useState<Samples>({})

  const decls: VariableDecls = {}
  for (const n of variablesIn(body)) decls[n] = chosen[n] ?? { type: 'string' }
  const setDecl = (n: string, d: VariableDecl) => setChosen({ ...chosen, [n]: d })

  const save = useMutation({
    mutationFn: () =>
      api<TemplateVersion>('/v1/templates', {
        method: 'POST',
        body: { name: name.trim(), locale: locale.trim() || undefined, body, variables: decls },
      }),
    onSuccess: async (v) => {
      await qc.invalidateQueries({ queryKey: ['templates'] })
      await qc.invalidateQueries({ queryKey: ['template', v.name] })
      onSaved(v)
    },
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    save.mutate()
  }

  return (
    <div className="tmpl-editor">
      <form className="stack" onSubmit={submit} aria-labelledby={`${id}-h`}>
        <h2 id={`${id}-h`}>{fixedName ? 'New version' : 'New template'}</h2>
        <div className="row">
          {fixedName ? null : (
            <label>
              Name
              <input
                value={name}
                required
                maxLength={64}
                placeholder="order_shipped"
                onChange={(e) => setName(e.target.value)}
              />
            </label>
          )}
          <label>
            Locale
            <input
              value={locale}
              maxLength={35}
              placeholder="en"
              onChange={(e) => setLocale(e.target.value)}
            />
          </label>
        </div>
        <label>
          Body
          <textarea
            value={body}
            required
            rows={5}
            placeholder="Hi {{ first_name }}, your order ships today."
            onChange={(e) => setBody(e.target.value)}
          />
        </label>
        {Object.keys(decls).length > 0 ? (
          <div className="table-wrap">
            <table>
              <caption className="muted">Variables the body uses</caption>
              <thead>
                <tr>
                  <th scope="col">Variable</th>
                  <th scope="col">Type</th>
                  <th scope="col">Default</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(decls).map(([n, d]) => (
                  <tr key={n}>
                    <td>
                      <code>{n}</code>
                    </td>
                    <td>
                      <select
                        aria-label={`Type of ${n}`}
                        value={d.type}
                        onChange={(e) => setDecl(n, { type: e.target.value as VariableType })}
                      >
                        {TYPES.map((t) => (
                          <option key={t}>{t}</option>
                        ))}
                      </select>
                    </td>
                    <td>
                      {d.type === 'currency' ? (
                        <span className="muted">none</span>
                      ) : (
                        <input
                          aria-label={`Default of ${n}`}
                          value={d.default === undefined ? '' : String(d.default as string)}
                          placeholder="none"
                          onChange={(e) => {
                            const raw = e.target.value
                            const { default: _old, ...rest } = d
                            setDecl(
                              n,
                              raw === ''
                                ? rest
                                : { ...rest, default: d.type === 'number' ? Number(raw) : raw },
                            )
                          }}
                        />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        <SampleInputs decls={decls} samples={samples} onChange={setSamples} />
        <ErrorBox error={save.error} title="Not saved" />
        <div className="row">
          <button type="submit" disabled={save.isPending}>
            {fixedName ? 'Save version' : 'Create template'}
          </button>
        </div>
      </form>
      <TemplatePreview body={body} decls={decls} samples={samples} locale={locale} />
    </div>
  )
}
