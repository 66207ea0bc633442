import type { Generated } from 'kysely'

import type { MessageRecord } from '../domain/messages/message.js'
import type { WebhookDeliveryRecord } from '../domain/webhooks/delivery.js'

/** Row shapes shared by the SQLite and PostgreSQL stores. Times are epoch milliseconds. */
export type MessageRow = MessageRecord

export interface MessageEventRow {
  id: Generated<number>
  message_id: string
  status: string
  error_code: string | null
  detail: string | null
  at: number
}

export interface IdempotencyRow {
  api_key_id: string
  key: string
  request_hash: string
  response_status: number
  response_body: string
  created_at: number
  expires_at: number
}

export interface ApiKeyRow {
  id: string
  name: string
  prefix: string
  key_hash: string
  scopes: string
  created_at: number
  last_used_at: number | null
  revoked_at: number | null
}

export interface WebhookEndpointRow {
  id: string
  url: string
  secret: string
  enabled: number
  created_at: number
}

export type WebhookDeliveryRow = WebhookDeliveryRecord

export interface WebhookAttemptRow {
  id: Generated<number>
  delivery_id: string
  attempt: number
  at: number
  duration_ms: number
  status_code: number | null
  error: string | null
}

export interface JobRow {
  id: string
  type: string
  payload: string
  attempts: number
  run_at: number
  lease_owner: string | null
  lease_until: number | null
  last_error: string | null
  created_at: number
}

/** A provider id: one part of an outbound message, or an inbound message. */
export interface ProviderRefRow {
  provider: string
  provider_message_id: string
  message_id: string
  /** The attempt whose send answered (or whose reports named) this id. */
  attempt: number
  /** 1-based part number, of `parts` in this attempt. */
  part: number
  parts: number
  /** The last status reported for this part (never moves backwards). */
  status: string | null
  error_code: string | null
  /** The provider's price for this part, as last reported. */
  price: number | null
  currency: string | null
}

/** One try at sending a message through one provider instance. */
export interface AttemptRow {
  message_id: string
  attempt: number
  provider: string
  sender: string | null
  started_at: number
  ended_at: number
  outcome: string
  error_code: string | null
  latency_ms: number
  /** Estimated cost of this try (segments x the price table's price). */
  cost: number | null
  cost_currency: string | null
}

/** A part of a concatenated inbound SMS, kept until every part has come. */
export interface InboundPartRow {
  provider: string
  from_number: string
  concat_ref: string
  part: number
  total: number
  to_number: string
  body: string
  provider_message_id: string
  received_at: number
}

/** A recipient who opted out of a sender (migration 0004_routing). */
export interface SuppressionRow {
  recipient: string
  /** The sender, or `@{instance}` for an instance's default sender. */
  sender_key: string
  provider: string
  error_code: string
  created_at: number
}

/** One sending process's snapshot of one provider instance (JSON `InstanceHealth`). */
export interface ProviderHealthRow {
  worker: string
  provider: string
  snapshot: string
  updated_at: number
}

export interface SettingRow {
  key: string
  value: string
}

/** One pacing key's booked sends (src/queue/pacing/postgres.book.ts). */
export interface PacingRow {
  key: string
  /** JSON: the key's slots, `[t, n, s?]` each, in time order. */
  slots: string
  updated_at: number
}

export interface Database {
  messages: MessageRow
  message_events: MessageEventRow
  idempotency_keys: IdempotencyRow
  api_keys: ApiKeyRow
  webhook_endpoints: WebhookEndpointRow
  webhook_deliveries: WebhookDeliveryRow
  webhook_attempts: WebhookAttemptRow
  jobs: JobRow
  settings: SettingRow
  provider_refs: ProviderRefRow
  attempts: AttemptRow
  inbound_parts: InboundPartRow
  suppressions: SuppressionRow
  provider_health: ProviderHealthRow
  pacing: PacingRow
  events: EventRow
  consents: ConsentRow
  contacts: ContactRow
  conversations: ConversationRow
  consent_refusals: ConsentRefusalRow
  audit_log: AuditRow
  erased_opt_outs: ErasedOptOutRow
  verifications: VerificationRow
  verification_sends: VerificationSendRow
  verification_blocks: VerificationBlockRow
  templates: TemplateRow
  template_versions: TemplateVersionRow
  verification_refusals: VerificationRefusalRow
  users: UserRow
  sessions: SessionRow
  stats_rollup: StatsRollupRow
  stats_latency: StatsLatencyRow
  stats_pending: StatsPendingRow
}

/** A dashboard user (migration 0015_users). */
export interface UserRow {
  id: string
  /** Lower-cased; unique. */
  email: string
  role: string
  /** `scrypt$N$r$p$salt$hash` (base64url salt and hash). */
  password_hash: string
  created_at: number
  disabled_at: number | null
}

/** A dashboard session; `id` is the SHA-256 hash (hex) of the cookie token. */
export interface SessionRow {
  id: string
  user_id: string
  csrf_token: string
  created_at: number
  expires_at: number
  revoked_at: number | null
  last_seen_at: number
}

/** A message template (migration 0012_templates). */
export interface TemplateRow {
  name: string
  /** The locale of its first version: the last fallback of a send. */
  default_locale: string
  /** Null: in use; else sends naming it are refused (template_archived). */
  archived_at: number | null
  created_at: number
  updated_at: number
}

/** One immutable version of a template in one locale (numbered per locale from 1). */
export interface TemplateVersionRow {
  name: string
  locale: string
  version: number
  body: string
  /** JSON: the declared variables, `{ name: { type, default?, timeZone? } }`. */
  variables: string
  created_at: number
}

/** One entry of the audit log (migration 0011_privacy_audit): append-only. */
export interface AuditRow {
  /** `aud_` + a time-ordered ULID. */
  id: string
  /** `api_key.created`, `api_key.revoked`, `consent.changed`, `privacy.exported`, `privacy.erased`. */
  action: string
  /** The API key id that acted, `cli`, or `system` (first start). */
  actor: string
  /** What it acted on: a key id, or `phone:` + the number's keyed hash (never in clear). */
  target: string | null
  /** JSON, never a phone number or a body. */
  details: string | null
  at: number
}

/** An opt-out that outlived the erasure of its number (src/store/privacy.repo.ts). */
export interface ErasedOptOutRow {
  /** HMAC-SHA256 of the E.164 number under the `privacy_hash_key` setting, hex. */
  hash: string
  /** The consent scope (`all`, a sender, `marketing`), or a provider suppression's sender key. */
  scope: string
  /** `consent` (a ledger opt-out) or `provider` (a provider suppression). */
  source: string
  at: number
}

/** An application event (src/store/event.repo.ts): what the event stream replays. */
export interface EventRow {
  id: Generated<number>
  type: string
  /** JSON: the event's `data`. */
  data: string
  at: number
}

/** One entry of the consent ledger (src/store/consent.repo.ts). */
export interface ConsentRow {
  id: Generated<number>
  /** E.164. */
  phone: string
  action: 'opt_in' | 'opt_out'
  /** `all`, a sender (E.164 or short code), or a message type (`marketing`, `transactional`). */
  scope: string
  source: 'api' | 'keyword' | 'import' | 'web_form' | 'provider'
  /** The disclosure text the person agreed to, or its version. */
  disclosure: string | null
  /** JSON: `{ ip, userAgent, formUrl, ... }` where given. */
  evidence: string | null
  at: number
}

/** A person who texted in (src/store/conversation.repo.ts): one per E.164 number. */
export interface ContactRow {
  id: string
  /** E.164. */
  phone: string
  created_at: number
}

/** A thread between a contact and a Switchboard number (src/store/conversation.repo.ts). */
export interface ConversationRow {
  id: string
  contact_id: string
  /** The Switchboard number (E.164 or short code) the contact texted. */
  number: string
  status: 'open' | 'closed'
  /** 1 after an inbound message, 0 once marked read. */
  unread: number
  assignee: string | null
  last_message_at: number
  /** JSON: `ConversationFlag[]` (src/domain/conversations/conversation.ts). */
  flags: string
  created_at: number
  updated_at: number
}

/**
 * One send refused at intake for consent (`recipient_opted_out`, `consent_required`): what
 * stats count. No message row exists for it, and no number is kept here.
 */
export interface ConsentRefusalRow {
  id: Generated<number>
  reason: string
  /** The message type: `transactional` or `marketing`. */
  type: string
  at: number
}

/** Columns in insertion order for the hot-path multi-row message insert. */
export const MESSAGE_COLUMNS = [
  'id',
  'api_key_id',
  'direction',
  'to_number',
  'from_number',
  'body',
  'type',
  'encoding',
  'segments',
  'smart_encoding',
  'status',
  'error_code',
  'error_message',
  'provider',
  'provider_message_id',
  'metadata',
  'status_callback',
  'validity_period',
  'valid_until',
  'send_at',
  'attempts',
  'next_attempt_at',
  'lease_owner',
  'lease_until',
  'created_at',
  'updated_at',
  'sent_at',
  'completed_at',
  'sender',
  'estimated_cost',
  'cost_currency',
  'price',
  'price_currency',
  'template_name',
  'template_version',
  'template_locale',
] as const satisfies readonly (keyof MessageRow)[]

/** A verification of the Verify API (migration 0013_verifications). Never the code itself. */
export interface VerificationRow {
  id: string
  /** E.164. */
  to_number: string
  country: string | null
  status: 'pending' | 'approved' | 'expired' | 'locked' | 'canceled'
  /** HMAC-SHA256 of the code under the server's Verify key. */
  code_hmac: string
  code_length: number
  /** Failed checks so far. */
  attempts: number
  sends: number
  locale: string | null
  template: string | null
  client_ip: string | null
  /** The latest verification SMS. */
  message_id: string | null
  created_at: number
  expires_at: number
  approved_at: number | null
  /** After too many failed checks: no new verification for the number before this. */
  locked_until: number | null
  updated_at: number
  /** While pending: the code, sealed (AES-256-GCM); NULL once it ended (0013_verifications_more). */
  code_cipher: string | null
  /** While pending: the text of its SMS with the code, sealed; NULL once it ended. */
  text_cipher: string | null
  ttl_seconds: number
}

/** One verification SMS sent: what the Verify limits and the velocity detection count. */
export interface VerificationSendRow {
  id: Generated<number>
  verification_id: string
  to_number: string
  /** The destination range the velocity detection groups by (e.g. the number without its last 4 digits). */
  prefix: string
  country: string | null
  client_ip: string | null
  at: number
}

/** A block of the Verify abuse protection (GET /v1/verifications/blocks). */
export interface VerificationBlockRow {
  id: Generated<number>
  /** `prefix`, `number`, `ip` or `country`. */
  kind: string
  value: string
  /** Registry-style reason, e.g. `low_approval_burst`. */
  reason: string
  /** JSON: what triggered it (counts, rate, window). */
  details: string | null
  created_at: number
  until: number
}

/** A refused Verify request (its registry code), for the stats: no number (0013_verifications_more). */
export interface VerificationRefusalRow {
  id: Generated<number>
  reason: string
  country: string | null
  at: number
}

/** Settled messages of one creation hour or day and dimension (0016_stats); '' = unknown. */
export interface StatsRollupRow {
  span: 'hour' | 'day'
  /** The hour's or UTC day's start, epoch milliseconds. */
  start: number
  direction: string
  provider: string
  country: string
  status: string
  error_code: string
  currency: string
  messages: number
  segments: number
  cost: number
}

/** Delivered messages of one hour or day, provider and country in one latency bucket (0016_stats). */
export interface StatsLatencyRow {
  span: 'hour' | 'day'
  start: number
  provider: string
  country: string
  /** Index of the log-spaced bucket (src/store/stats.repo.ts, `LATENCY_EDGES_MS`). */
  bucket: number
  count: number
}

/** A message behind the stats watermark that had not settled when it was rolled up. */
export interface StatsPendingRow {
  message_id: string
}
