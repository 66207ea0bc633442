import { useEffect, useRef } from 'react'
import { Link, Route, Switch, useLocation } from 'wouter'
import { Empty, Loading } from './components/ui'
import { NAV } from './nav'
import { ContactsPage } from './pages/contacts/ContactsPage'
import { ConversationsPage } from './pages/conversations/ConversationsPage'
import { Login } from './pages/Login'
import { MessageDetail } from './pages/messages/MessageDetail'
import { MessagesPage } from './pages/messages/MessagesPage'
import { OverviewPage } from './pages/overview/OverviewPage'
import { ProvidersPage } from './pages/providers/ProvidersPage'
import { SettingsPage } from './pages/settings/SettingsPage'
import { SimulatorPage } from './pages/simulator/SimulatorPage'
import { TemplatesPage } from './pages/templates/TemplatesPage'
import { VerifyPage } from './pages/verify/VerifyPage'
import { useSession } from './session'

const dec = (s: string | undefined) => decodeURIComponent(s ?? '')

function Routes() {
  return (
    <Switch>
      <Route path="/">
        <OverviewPage />
      </Route>
      <Route path="/messages">
        <MessagesPage />
      </Route>
      <Route path="/messages/:id">{(p) => <MessageDetail id={dec(p.id)} />}</Route>
      <Route path="/conversations">
        <ConversationsPage />
      </Route>
      <Route path="/conversations/:id">{(p) => <ConversationsPage id={dec(p.id)} />}</Route>
      <Route path="/contacts">
        <ContactsPage />
      </Route>
      <Route path="/contacts/:phone">{(p) => <ContactsPage phone={dec(p.phone)} />}</Route>
      <Route path="/templates">
        <TemplatesPage />
      </Route>
      <Route path="/templates/:name">{(p) => <TemplatesPage name={dec(p.name)} />}</Route>
      <Route path="/verify">
        <VerifyPage />
      </Route>
      <Route path="/providers">
        <ProvidersPage />
      </Route>
      <Route path="/settings">
        <SettingsPage />
      </Route>
      <Route path="/simulator">
        <SimulatorPage />
      </Route>
      <Route path="/simulator/:number">{(p) => <SimulatorPage number={dec(p.number)} />}</Route>
      <Route>
        <Empty title="There is no such page.">
          <Link href="/">Go to the overview</Link>
        </Empty>
      </Route>
    </Switch>
  )
}

function Shell() {
  const { user, logout } = useSession()
  const [location] = useLocation()
  const main = useRef<HTMLElement>(null)
  const first = useRef(true)
  // After navigating, focus moves to the page so keyboard and screen-reader users start there.
  useEffect(() => {
    if (first.current) {
      first.current = false
      return
    }
    main.current?.focus()
  }, [location])
  if (!user) return null
  const current = (path: string) =>
    path === '/' ? location === '/' : location === path || location.startsWith(path + '/')
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          Switchboard
        </Link>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((n) => !n.roles || n.roles.includes(user.role)).map((n) => (
              <li key={n.path}>
                <Link href={n.path} aria-current={current(n.path) ? 'page' : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span>
            {user.email} <span className="muted">({user.role})</span>
          </span>
          <button type="button" className="secondary" onClick={() => void logout()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Routes />
      </main>
    </>
  )
}

export function App() {
  const { user, loading } = useSession()
  if (loading)
    return (
      <main id="main">
        <Loading what="Switchboard" />
      </main>
    )
  return user ? <Shell /> : <Login />
}
