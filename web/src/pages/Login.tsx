import { useState, type FormEvent } from 'react'
import { ErrorBox } from '../components/ui'
import { useSession } from '../session'

export function Login() {
  const { login, notice } = useSession()
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)

  async function submit(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await login(email, password)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <main id="main" className="login">
      <h1>Sign in to Switchboard</h1>
      {notice ? (
        <p role="status" className="notice">
          {notice}
        </p>
      ) : null}
      <form onSubmit={(e) => void submit(e)} className="stack">
        <label>
          E-mail or user name
          <input
            name="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <ErrorBox error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p className="muted">
        The first start printed <code>Dashboard user: admin</code> and its password beside the first
        API key. More users: <code>npx switchboard users create --email … --role agent</code>.
      </p>
    </main>
  )
}
