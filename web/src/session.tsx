import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react'
import { api, setCsrfToken, setUnauthorizedHandler } from './api'

export type Role = 'admin' | 'agent' | 'viewer'
export interface SessionUser {
  email: string
  role: Role
}
interface SessionAnswer {
  user: SessionUser | null
  csrfToken: string | null
}

interface SessionState {
  user: SessionUser | null
  /** True until the first GET /auth/session answered. */
  loading: boolean
  /** Why the session ended, shown on the sign-in form. */
  notice: string | null
  login: (email: string, password: string) => Promise<void>
  logout: () => Promise<void>
}

const SessionContext = createContext<SessionState | null>(null)

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<SessionUser | null>(null)
  const [loading, setLoading] = useState(true)
  const [notice, setNotice] = useState<string | null>(null)

  const accept = useCallback((s: SessionAnswer) => {
    setCsrfToken(s.csrfToken ?? '')
    setUser(s.user)
    if (s.user) setNotice(null)
  }, [])

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCsrfToken('')
      setUser(null)
      setNotice('Your session ended. Sign in again.')
    })
    api<SessionAnswer>('/auth/session', { quiet401: true })
      .then(accept)
      .catch((e: unknown) =>
        setNotice(e instanceof Error ? e.message : 'Switchboard did not answer.'),
      )
      .finally(() => setLoading(false))
  }, [accept])

  const login = useCallback(
    async (email: string, password: string) => {
      const s = await api<SessionAnswer>('/auth/login', {
        method: 'POST',
        body: { email, password },
        quiet401: true,
      })
      accept(s)
    },
    [accept],
  )

  const logout = useCallback(async () => {
    try {
      await api('/auth/logout', { method: 'POST', quiet401: true })
    } finally {
      setCsrfToken('')
      setUser(null)
      setNotice('You signed out.')
    }
  }, [])

  return (
    <SessionContext.Provider value={{ user, loading, notice, login, logout }}>
      {children}
    </SessionContext.Provider>
  )
}

export function useSession(): SessionState {
  const s = useContext(SessionContext)
  if (!s) throw new Error('useSession outside SessionProvider')
  return s
}

/** Whether the signed-in user's role may change things (`agent` and `admin`). */
export function useCanWrite(): boolean {
  const { user } = useSession()
  return user?.role === 'admin' || user?.role === 'agent'
}

export function useIsAdmin(): boolean {
  return useSession().user?.role === 'admin'
}
