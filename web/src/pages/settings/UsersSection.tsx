import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useId, useState, type FormEvent } from 'react'
import { api } from '../../api'
import { Empty, ErrorBox, formatTime, Loading } from '../../components/ui'
import { useSession, type Role } from '../../session'
import { ConfirmDialog, ShownOnce } from './shared'

interface User {
  id: string
  email: string
  role: Role
  createdAt: string
  disabledAt: string | null
  lastSignInAt: string | null
  password?: string
}

const ROLES: { role: Role; help: string }[] = [
  { role: 'admin', help: 'everything, including keys, webhooks and users' },
  { role: 'agent', help: 'read and send messages, answer conversations' },
  { role: 'viewer', help: 'read only' },
]

type Pending = { kind: 'disable' | 'sessions'; user: User }

/** Dashboard users: list, create with a role, change role, disable/enable, sign out. */
export function UsersSection() {
  const qc = useQueryClient()
  const me = useSession().user
  const users = useQuery({
    queryKey: ['users'],
    queryFn: () => api<{ data: User[] }>('/v1/users'),
  })
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<Role>('agent')
  const [password, setPassword] = useState('')
  const [created, setCreated] = useState<User | null>(null)
  const [pending, setPending] = useState<Pending | null>(null)
  const [done, setDone] = useState('')
  const roleId = useId()
  const refresh = () => qc.invalidateQueries({ queryKey: ['users'] })

  const create = useMutation({
    mutationFn: () =>
      api<User>('/v1/users', {
        method: 'POST',
        body: { email: email.trim(), role, ...(password ? { password } : {}) },
      }),
    onSuccess: (u) => {
      setCreated(u)
      setDone(`Created ${u.email} (${u.role}).`)
      setEmail('')
      setPassword('')
      void refresh()
    },
  })
  const change = useMutation({
    mutationFn: (v: { user: User; role?: Role; disabled?: boolean }) =>
      api<User>(`/v1/users/${encodeURIComponent(v.user.id)}`, {
        method: 'PATCH',
        body: {
          ...(v.role !== undefined ? { role: v.role } : {}),
          ...(v.disabled !== undefined ? { disabled: v.disabled } : {}),
        },
      }),
    onSuccess: (u, v) => {
      setPending(null)
      setDone(
        v.role !== undefined
          ? `${u.email} is now ${u.role}.`
          : u.disabledAt
            ? `${u.email} is disabled and signed out everywhere.`
            : `${u.email} is enabled.`,
      )
      // Demoting oneself: the session acts with the new role from now on; start over with it.
      if (v.role !== undefined && v.user.email === me?.email && u.role !== 'admin') {
        window.location.reload()
        return
      }
      void refresh()
    },
  })
  const signOut = useMutation({
    mutationFn: (u: User) =>
      api<{ revoked: number }>(`/v1/users/${encodeURIComponent(u.id)}/sessions`, {
        method: 'DELETE',
      }),
    onSuccess: (r, u) => {
      setPending(null)
      setDone(`${u.email}: ${r.revoked} session${r.revoked === 1 ? '' : 's'} ended.`)
      void refresh()
    },
  })

  function submit(e: FormEvent) {
    e.preventDefault()
    setCreated(null)
    create.mutate()
  }

  const list = users.data?.data ?? []
  return (
    <section aria-labelledby="users-heading">
      <h2 id="users-heading">Users</h2>
      <p className="muted">
        People who sign in to this dashboard. Roles: <strong>admin</strong> (everything),{' '}
        <strong>agent</strong> (read and send, answer conversations), <strong>viewer</strong> (read
        only). Disabling a user ends its sessions at once.
      </p>
      {created?.password ? (
        <ShownOnce
          label={`Password for ${created.email}`}
          value={created.password}
          onDone={() => setCreated(null)}
        />
      ) : null}
      <form className="row" onSubmit={submit} aria-label="Create a user">
        <label>
          E-mail
          <input
            name="email"
            type="text"
            inputMode="email"
            autoComplete="off"
            required
            maxLength={320}
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <div className="field">
          <label htmlFor={roleId}>Role</label>
          <select
            id={roleId}
            name="role"
            value={role}
            onChange={(e) => setRole(e.target.value as Role)}
          >
            {ROLES.map((r) => (
              <option key={r.role} value={r.role}>
                {r.role}
              </option>
            ))}
          </select>
        </div>
        <label>
          Password (optional)
          <input
            name="password"
            type="password"
            autoComplete="new-password"
            minLength={8}
            aria-describedby="password-help"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <button type="submit" disabled={create.isPending || !email.trim()}>
          Create user
        </button>
      </form>
      <p id="password-help" className="muted">
        Leave the password empty to have one generated: it is shown once, to hand over.
      </p>
      <ErrorBox error={create.error} title="The user was not created" />
      {pending ? null : <ErrorBox error={change.error} title="The user was not changed" />}
      <p role="status" className="muted">
        {done}
      </p>
      {users.isPending ? <Loading what="users" /> : null}
      <ErrorBox error={users.error} />
      {users.isSuccess && list.length === 0 ? (
        <Empty title="There are no users.">Create one above.</Empty>
      ) : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Role</th>
                <th scope="col">State</th>
                <th scope="col">Last sign-in</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="muted">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((u) => (
                <tr key={u.id}>
                  <td>
                    {u.email}
                    {u.email === me?.email ? <span className="muted"> (you)</span> : null}
                  </td>
                  <td>
                    <select
                      aria-label={`Role of ${u.email}`}
                      value={u.role}
                      disabled={change.isPending}
                      onChange={(e) => {
                        setDone('')
                        change.mutate({ user: u, role: e.target.value as Role })
                      }}
                    >
                      {ROLES.map((r) => (
                        <option key={r.role} value={r.role}>
                          {r.role}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>
                    {u.disabledAt ? (
                      <span className="badge badge-failed">disabled</span>
                    ) : (
                      <span className="badge badge-delivered">active</span>
                    )}
                  </td>
                  <td>{u.lastSignInAt ? formatTime(u.lastSignInAt) : 'never'}</td>
                  <td>{formatTime(u.createdAt)}</td>
                  <td>
                    <div className="actions">
                      {u.disabledAt ? (
                        <button
                          type="button"
                          className="secondary"
                          aria-label={`Enable ${u.email}`}
                          disabled={change.isPending}
                          onClick={() => {
                            setDone('')
                            change.mutate({ user: u, disabled: false })
                          }}
                        >
                          Enable
                        </button>
                      ) : (
                        <>
                          <button
                            type="button"
                            className="secondary"
                            aria-label={`Disable ${u.email}`}
                            onClick={() => {
                              change.reset()
                              setPending({ kind: 'disable', user: u })
                            }}
                          >
                            Disable
                          </button>
                          <button
                            type="button"
                            className="secondary"
                            aria-label={`Sign out everywhere: ${u.email}`}
                            onClick={() => {
                              signOut.reset()
                              setPending({ kind: 'sessions', user: u })
                            }}
                          >
                            Sign out everywhere
                          </button>
                        </>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {pending?.kind === 'disable' ? (
        <ConfirmDialog
          title={`Disable ${pending.user.email}?`}
          confirmLabel="Disable user"
          busy={change.isPending}
          onConfirm={() => change.mutate({ user: pending.user, disabled: true })}
          onCancel={() => setPending(null)}
        >
          <p>Their sessions end at once and they cannot sign in until enabled again.</p>
          <ErrorBox error={change.error} />
        </ConfirmDialog>
      ) : null}
      {pending?.kind === 'sessions' ? (
        <ConfirmDialog
          title={`Sign ${pending.user.email} out everywhere?`}
          confirmLabel="End sessions"
          busy={signOut.isPending}
          onConfirm={() => signOut.mutate(pending.user)}
          onCancel={() => setPending(null)}
        >
          <p>Every open session of this user ends at once; they can sign in again.</p>
          <ErrorBox error={signOut.error} />
        </ConfirmDialog>
      ) : null}
    </section>
  )
}
