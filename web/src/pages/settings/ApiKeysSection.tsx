import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { api } from '../../api'
import { Empty, ErrorBox, formatTime, Loading } from '../../components/ui'
import { ConfirmDialog, ShownOnce } from './shared'

interface ApiKey {
  id: string
  name: string
  prefix: string
  scopes: string[]
  createdAt: string
  lastUsedAt: string | null
  revokedAt: string | null
  key?: string
}

const SCOPES = [
  { scope: 'messages:read', help: 'read messages and conversations' },
  { scope: 'messages:write', help: 'send messages and answer conversations' },
  { scope: 'admin', help: 'everything, including keys, webhooks and users' },
] as const

/** API keys: list, create (the key shown once), revoke after a confirmation. */
export function ApiKeysSection() {
  const qc = useQueryClient()
  const keys = useQuery({
    queryKey: ['keys'],
    queryFn: () => api<{ data: ApiKey[] }>('/v1/keys'),
  })
  const [name, setName] = useState('')
  const [scopes, setScopes] = useState<string[]>(['messages:read', 'messages:write'])
  const [created, setCreated] = useState<ApiKey | null>(null)
  const [revoking, setRevoking] = useState<ApiKey | null>(null)

  const create = useMutation({
    mutationFn: () =>
      api<ApiKey>('/v1/keys', { method: 'POST', body: { name: name.trim(), scopes } }),
    onSuccess: (k) => {
      setCreated(k)
      setName('')
      void qc.invalidateQueries({ queryKey: ['keys'] })
    },
  })
  const revoke = useMutation({
    mutationFn: (id: string) =>
      api<ApiKey>(`/v1/keys/${encodeURIComponent(id)}/revoke`, { method: 'POST' }),
    onSuccess: () => {
      setRevoking(null)
      void qc.invalidateQueries({ queryKey: ['keys'] })
    },
  })

  function submit(e: FormEvent) {
    e.preventDefault()
    create.mutate()
  }
  const toggle = (scope: string, on: boolean) =>
    setScopes((s) => (on ? [...s, scope] : s.filter((x) => x !== scope)))

  const list = keys.data?.data ?? []
  return (
    <section aria-labelledby="keys-heading">
      <h2 id="keys-heading">API keys</h2>
      <p className="muted">
        Programs authenticate with an API key (<code>Authorization: Bearer sb_live_…</code>).
        Switchboard keeps only a hash of each key: it is shown once, when created.
      </p>
      {created?.key ? (
        <ShownOnce
          label={`New API key “${created.name}”`}
          value={created.key}
          onDone={() => setCreated(null)}
        />
      ) : null}
      <form className="row" onSubmit={submit} aria-label="Create an API key">
        <label>
          Key name
          <input
            name="name"
            required
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <label key={s.scope} className="inline" title={s.help}>
              <input
                type="checkbox"
                checked={scopes.includes(s.scope)}
                onChange={(e) => toggle(s.scope, e.target.checked)}
              />{' '}
              {s.scope}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={create.isPending || scopes.length === 0 || !name.trim()}>
          Create key
        </button>
      </form>
      <ErrorBox error={create.error} title="The key was not created" />
      {keys.isPending ? <Loading what="API keys" /> : null}
      <ErrorBox error={keys.error} />
      {keys.isSuccess && list.length === 0 ? (
        <Empty title="There are no API keys.">Create one above for each program.</Empty>
      ) : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="muted">Every key, oldest first, revoked ones included</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span className="muted">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td className="mono">{k.prefix}…</td>
                  <td>{k.scopes.join(', ')}</td>
                  <td>{formatTime(k.createdAt)}</td>
                  <td>{k.lastUsedAt ? formatTime(k.lastUsedAt) : 'never'}</td>
                  <td>
                    {k.revokedAt ? (
                      <span className="badge badge-failed">revoked {formatTime(k.revokedAt)}</span>
                    ) : (
                      <span className="badge badge-delivered">active</span>
                    )}
                  </td>
                  <td>
                    {k.revokedAt ? null : (
                      <button
                        type="button"
                        className="secondary"
                        aria-label={`Revoke key ${k.name}`}
                        onClick={() => {
                          revoke.reset()
                          setRevoking(k)
                        }}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {revoking ? (
        <ConfirmDialog
          title={`Revoke the key “${revoking.name}”?`}
          confirmLabel="Revoke key"
          busy={revoke.isPending}
          onConfirm={() => revoke.mutate(revoking.id)}
          onCancel={() => setRevoking(null)}
        >
          <p>
            Programs using it are refused at once (<code>401 unauthorized</code>). This cannot be
            undone.
          </p>
          <ErrorBox error={revoke.error} />
        </ConfirmDialog>
      ) : null}
    </section>
  )
}
