import { Empty, PageHeader } from '../../components/ui'
import { useIsAdmin } from '../../session'
import { ApiKeysSection } from './ApiKeysSection'
import { UsersSection } from './UsersSection'
import { WebhooksSection } from './WebhooksSection'
import './settings.css'

/** Settings (admin only): API keys, webhook endpoints and secret, dashboard users. */
export function SettingsPage() {
  const admin = useIsAdmin()
  return (
    <div className="settings">
      <PageHeader title="Settings" />
      {admin ? (
        <>
          <ApiKeysSection />
          <WebhooksSection />
          <UsersSection />
        </>
      ) : (
        <Empty title="Settings are for admins.">
          Ask an admin to change API keys, webhooks or users.
        </Empty>
      )}
    </div>
  )
}
