/**
 * The dashboard's pages, in the order the navigation lists them. Imports nothing, so the browser
 * tests (test/browser) can walk the same list.
 */
export interface NavItem {
  path: string
  label: string
  /** Roles that see the page; every role when absent. */
  roles?: ('admin' | 'agent' | 'viewer')[]
}

export const NAV: NavItem[] = [
  { path: '/', label: 'Overview' },
  { path: '/messages', label: 'Messages' },
  { path: '/conversations', label: 'Conversations' },
  { path: '/contacts', label: 'Contacts' },
  { path: '/templates', label: 'Templates' },
  { path: '/verify', label: 'Verify' },
  { path: '/providers', label: 'Providers', roles: ['admin'] },
  { path: '/settings', label: 'Settings', roles: ['admin'] },
  { path: '/simulator', label: 'Simulator', roles: ['admin'] },
]
