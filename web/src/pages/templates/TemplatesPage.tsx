import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { Link, useLocation } from 'wouter'
import { api, type Page } from '../../api'
import {
  Empty,
  ErrorBox,
  formatTime,
  Loading,
  PageHeader,
  StatusBadge,
  LoadMore,
} from '../../components/ui'
import { useIsAdmin } from '../../session'
import { TemplateEditor, type EditorSeed } from './TemplateEditor'
import { SampleInputs, TemplatePreview, variablesIn, type Samples } from './TemplatePreview'
import './templates.css'
import type { Template, TemplateSummary, VariableDecls } from './types'

const READ_ONLY =
  'Only admins change templates: their text is product wording (the API takes the admin scope for it). You can read them and try them with sample values.'

export function TemplatesPage({ name }: { name?: string }) {
  return name ? <TemplateDetail name={name} /> : <TemplateList />
}

function TemplateList() {
  const isAdmin = useIsAdmin()
  const [, navigate] = useLocation()
  const [showArchived, setShowArchived] = useState(false)
  const q = useInfiniteQuery({
    queryKey: ['templates', { showArchived }],
    queryFn: ({ pageParam }) =>
      api<Page<TemplateSummary>>('/v1/templates', {
        query: { limit: 50, cursor: pageParam, archived: showArchived ? undefined : false },
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.nextCursor ?? undefined,
  })
  const rows = q.data?.pages.flatMap((p) => p.data) ?? []
  return (
    <div className="stack">
      <PageHeader title="Templates" />
      <p className="muted">
        Named texts with typed variables; applications send them by name, and a new version changes
        the wording without a deploy.
      </p>
      {isAdmin ? null : <p className="notice">{READ_ONLY}</p>}
      <label className="inline">
        <input
          type="checkbox"
          checked={showArchived}
          onChange={(e) => setShowArchived(e.target.checked)}
        />{' '}
        Show archived templates
      </label>
      <ErrorBox error={q.error} title="Templates could not be loaded" />
      {q.isPending ? (
        <Loading what="templates" />
      ) : rows.length === 0 && !q.error ? (
        <Empty title={showArchived ? 'There are no templates.' : 'There are no templates in use.'}>
          {isAdmin
            ? 'Create the first one with the form below.'
            : 'An admin creates them here or with POST /v1/templates.'}
        </Empty>
      ) : rows.length > 0 ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Locales (newest version)</th>
                <th scope="col">Default locale</th>
                <th scope="col">State</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={t.name}>
                  <td>
                    <Link href={`/templates/${encodeURIComponent(t.name)}`}>{t.name}</Link>
                  </td>
                  <td>{t.locales.map((l) => `${l.locale} v${l.latestVersion}`).join(', ')}</td>
                  <td>{t.defaultLocale}</td>
                  <td>
                    <StatusBadge status={t.archived ? 'archived' : 'in use'} />
                  </td>
                  <td>{formatTime(t.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMore query={q} label="Load more templates" />
      {isAdmin ? (
        <TemplateEditor
          onSaved={(v) =>
            navigate(`/templates/${encodeURIComponent(v.name)}?saved=${v.locale}.${v.version}`)
          }
        />
      ) : null}
    </div>
  )
}

function savedNotice(): string | null {
  const s = new URLSearchParams(window.location.search).get('saved')
  if (!s) return null
  const i = s.lastIndexOf('.')
  return `Saved version ${s.slice(i + 1)} of ${s.slice(0, i)}.`
}

function TemplateDetail({ name }: { name: string }) {
  const isAdmin = useIsAdmin()
  const qc = useQueryClient()
  const [notice, setNotice] = useState<string | null>(savedNotice)
  const [seed, setSeed] = useState<{ n: number; seed: EditorSeed } | null>(null)
  const [confirming, setConfirming] = useState(false)
  const q = useQuery({
    queryKey: ['template', name],
    queryFn: () => api<Template>(`/v1/templates/${encodeURIComponent(name)}`),
  })
  const archive = useMutation({
    mutationFn: () => api<void>(`/v1/templates/${encodeURIComponent(name)}`, { method: 'DELETE' }),
    onSuccess: async () => {
      setConfirming(false)
      setNotice(`${name} is archived: sends naming it are refused until a new version is saved.`)
      await qc.invalidateQueries({ queryKey: ['templates'] })
      await qc.invalidateQueries({ queryKey: ['template', name] })
    },
  })
  const t = q.data
  const newest = t?.locales.find((l) => l.locale === t.defaultLocale) ?? t?.locales[0]
  const seedOf = (locale: string, v: { body: string; variables: VariableDecls }): EditorSeed => ({
    locale,
    body: v.body,
    variables: v.variables,
  })
  const editorSeed =
    seed?.seed ?? (newest?.versions[0] ? seedOf(newest.locale, newest.versions[0]) : undefined)

  return (
    <div className="stack">
      <PageHeader title={`Template ${name}`}>
        <Link href="/templates">All templates</Link>
      </PageHeader>
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorBox error={q.error} title="The template could not be loaded" />
      {q.isPending ? <Loading what="the template" /> : null}
      {t ? (
        <>
          <p>
            Default locale <strong>{t.defaultLocale}</strong> · created {formatTime(t.createdAt)} ·{' '}
            <StatusBadge status={t.archived ? 'archived' : 'in use'} />
            {t.archivedAt ? <> since {formatTime(t.archivedAt)}</> : null}
          </p>
          {isAdmin ? (
            t.archived ? (
              <p className="muted">Saving a new version restores it.</p>
            ) : confirming ? (
              <div className="notice stack" role="group" aria-label="Confirm archiving">
                <p>
                  Archive {name}? Sends, previews and verifications naming it will be refused with{' '}
                  <code>template_archived</code> until a new version is saved. Its versions are
                  kept.
                </p>
                <div className="row">
                  <button
                    type="button"
                    className="danger"
                    disabled={archive.isPending}
                    onClick={() => archive.mutate()}
                  >
                    Yes, archive {name}
                  </button>
                  <button type="button" className="secondary" onClick={() => setConfirming(false)}>
                    Cancel
                  </button>
                </div>
              </div>
            ) : (
              <div>
                <button type="button" className="danger" onClick={() => setConfirming(true)}>
                  Archive template
                </button>
              </div>
            )
          ) : (
            <p className="notice">{READ_ONLY}</p>
          )}
          <ErrorBox error={archive.error} title="Not archived" />

          <h2>Version history</h2>
          {t.locales.map((l) => (
            <section key={l.locale} aria-labelledby={`loc-${l.locale}`}>
              <h3 id={`loc-${l.locale}`}>
                {l.locale}
                {l.locale === t.defaultLocale ? ' (default)' : ''}
              </h3>
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Version</th>
                      <th scope="col">Body</th>
                      <th scope="col">Variables</th>
                      <th scope="col">Created</th>
                      {isAdmin ? <th scope="col">Edit</th> : null}
                    </tr>
                  </thead>
                  <tbody>
                    {l.versions.map((v) => (
                      <tr key={v.version}>
                        <td>v{v.version}</td>
                        <td className="tmpl-body">{v.body}</td>
                        <td>
                          {Object.entries(v.variables)
                            .map(([n, d]) => `${n}: ${d.type}`)
                            .join(', ') || '—'}
                        </td>
                        <td>{formatTime(v.createdAt)}</td>
                        {isAdmin ? (
                          <td>
                            <button
                              type="button"
                              className="secondary"
                              onClick={() =>
                                setSeed({ n: (seed?.n ?? 0) + 1, seed: seedOf(l.locale, v) })
                              }
                            >
                              Start from {l.locale} v{v.version}
                            </button>
                          </td>
                        ) : null}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
          ))}
          {isAdmin ? (
            <TemplateEditor
              key={seed?.n ?? 0}
              name={name}
              seed={editorSeed}
              onSaved={(v) => {
                setNotice(`Saved version ${v.version} of ${v.locale}.`)
                setSeed(null)
              }}
            />
          ) : newest?.versions[0] ? (
            <TryTemplate
              body={newest.versions[0].body}
              decls={newest.versions[0].variables}
              locale={newest.locale}
            />
          ) : null}
        </>
      ) : null}
    </div>
  )
}

/** Read only: the newest version of the default locale rendered with sample values. */
function TryTemplate({
  body,
  decls,
  locale,
}: {
  body: string
  decls: VariableDecls
  locale: string
}) {
  const [samples, setSamples] = useState<Samples>({})
  const used: VariableDecls = {}
  for (const n of variablesIn(body)) used[n] = decls[n] ?? { type: 'string' }
  return (
    <section className="tmpl-editor" aria-labelledby="try-h">
      <div className="stack">
        <h2 id="try-h">Try the newest {locale} version</h2>
        <SampleInputs decls={{ ...decls, ...used }} samples={samples} onChange={setSamples} />
      </div>
      <TemplatePreview
        body={body}
        decls={{ ...decls, ...used }}
        samples={samples}
        locale={locale}
      />
    </section>
  )
}
