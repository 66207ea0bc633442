import { sql, type Kysely, type Migration } from 'kysely'

type Dialect = 'sqlite' | 'postgres'

/** The reason (src/domain/webhooks/failure.ts) for an error text the webhook worker used to store. */
const LEGACY_REASON = (column: string) =>
  `CASE WHEN ${column} LIKE '%ECONNREFUSED%' THEN 'connection_refused'` +
  ` WHEN ${column} LIKE '%ENOTFOUND%' OR ${column} LIKE '%EAI_AGAIN%' THEN 'dns_error'` +
  ` WHEN ${column} LIKE '%ECONNRESET%' OR ${column} LIKE '%other side closed%' THEN 'connection_reset'` +
  ` WHEN ${column} LIKE '%EHOSTUNREACH%' OR ${column} LIKE '%ENETUNREACH%' THEN 'host_unreachable'` +
  ` WHEN ${column} LIKE '%imeout%' OR ${column} LIKE '%ETIMEDOUT%' THEN 'timeout'` +
  ` WHEN ${column} LIKE '%certificate%' OR ${column} LIKE '%TLS%' OR ${column} LIKE '%SSL%' THEN 'tls_error'` +
  ` WHEN ${column} LIKE 'no signing secret%' THEN 'no_signing_secret'` +
  ` ELSE 'request_failed' END`

/** Migrations as code, in order. They run on both dialects; the only branches are types. */
export function migrations(dialect: Dialect): Record<string, Migration> {
  const big = dialect === 'postgres' ? 'bigint' : 'integer'
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer'
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('messages')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('api_key_id', 'text')
          .addColumn('direction', 'text', (c) => c.notNull())
          .addColumn('to_number', 'text', (c) => c.notNull())
          .addColumn('from_number', 'text')
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('encoding', 'text', (c) => c.notNull())
          .addColumn('segments', 'integer', (c) => c.notNull())
          .addColumn('smart_encoding', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('error_code', 'text')
          .addColumn('error_message', 'text')
          .addColumn('provider', 'text')
          .addColumn('provider_message_id', 'text')
          .addColumn('metadata', 'text')
          .addColumn('status_callback', 'text')
          .addColumn('validity_period', 'integer', (c) => c.notNull())
          .addColumn('valid_until', big, (c) => c.notNull())
          .addColumn('send_at', big)
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', big)
          .addColumn('lease_owner', 'text')
          .addColumn('lease_until', big)
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('updated_at', big, (c) => c.notNull())
          .addColumn('sent_at', big)
          .addColumn('completed_at', big)
          .execute()
        // Due work: the claim query walks this partial index in time order.
        await sql`CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status IN ('queued', 'scheduled')`.execute(
          db,
        )
        await sql`CREATE INDEX messages_leased ON messages (lease_until) WHERE status = 'sending'`.execute(
          db,
        )
        await sql`CREATE INDEX messages_provider_ref ON messages (provider, provider_message_id) WHERE provider_message_id IS NOT NULL`.execute(
          db,
        )
        await db.schema
          .createIndex('messages_to')
          .on('messages')
          .columns(['to_number', 'id'])
          .execute()
        // No (status, id) index: every status change would rewrite it, and SQLite's planner
        // answers status-filtered pages by walking the primary key anyway.

        await db.schema
          .createTable('message_events')
          .addColumn('id', serial, (c) => c.primaryKey())
          .addColumn('message_id', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('error_code', 'text')
          .addColumn('detail', 'text')
          .addColumn('at', big, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('message_events_message')
          .on('message_events')
          .columns(['message_id', 'id'])
          .execute()

        await db.schema
          .createTable('idempotency_keys')
          .addColumn('api_key_id', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('request_hash', 'text', (c) => c.notNull())
          .addColumn('response_status', 'integer', (c) => c.notNull())
          .addColumn('response_body', 'text', (c) => c.notNull())
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('expires_at', big, (c) => c.notNull())
          .addPrimaryKeyConstraint('idempotency_keys_pk', ['api_key_id', 'key'])
          .execute()
        await db.schema
          .createIndex('idempotency_keys_expiry')
          .on('idempotency_keys')
          .column('expires_at')
          .execute()

        await db.schema
          .createTable('api_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('prefix', 'text', (c) => c.notNull())
          .addColumn('key_hash', 'text', (c) => c.notNull().unique())
          .addColumn('scopes', 'text', (c) => c.notNull())
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('last_used_at', big)
          .addColumn('revoked_at', big)
          .execute()

        await db.schema
          .createTable('webhook_endpoints')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('url', 'text', (c) => c.notNull().unique())
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('created_at', big, (c) => c.notNull())
          .execute()

        await db.schema
          .createTable('webhook_deliveries')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('message_id', 'text')
          .addColumn('endpoint_id', 'text')
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('event_type', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', big)
          .addColumn('lease_owner', 'text')
          .addColumn('lease_until', big)
          .addColumn('last_status_code', 'integer')
          .addColumn('last_error', 'text')
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('updated_at', big, (c) => c.notNull())
          .execute()
        await sql`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`.execute(
          db,
        )
        await db.schema
          .createIndex('webhook_deliveries_message')
          .on('webhook_deliveries')
          .columns(['message_id', 'id'])
          .execute()

        await db.schema
          .createTable('webhook_attempts')
          .addColumn('id', serial, (c) => c.primaryKey())
          .addColumn('delivery_id', 'text', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('at', big, (c) => c.notNull())
          .addColumn('duration_ms', 'integer', (c) => c.notNull())
          .addColumn('status_code', 'integer')
          .addColumn('error', 'text')
          .execute()
        await db.schema
          .createIndex('webhook_attempts_delivery')
          .on('webhook_attempts')
          .columns(['delivery_id', 'id'])
          .execute()

        await db.schema
          .createTable('jobs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('run_at', big, (c) => c.notNull())
          .addColumn('lease_owner', 'text')
          .addColumn('lease_until', big)
          .addColumn('last_error', 'text')
          .addColumn('created_at', big, (c) => c.notNull())
          .execute()
        await db.schema.createIndex('jobs_due').on('jobs').columns(['run_at']).execute()

        await db.schema
          .createTable('settings')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute()
      },
    },
    '0002_webhook_sequence_and_destination': {
      async up(db: Kysely<unknown>) {
        // Counts a message's status changes: each webhook carries it as `sequence`, so a
        // receiver can tell a stale event from a newer one (docs/webhooks.md).
        await db.schema
          .alterTable('messages')
          .addColumn('event_seq', 'integer', (c) => c.notNull().defaultTo(0))
          .execute()
        // What per-destination concurrency is counted by: the endpoint, or the URL's origin.
        await db.schema
          .alterTable('webhook_deliveries')
          .addColumn('destination', 'text', (c) => c.notNull().defaultTo(''))
          .execute()
        await sql`UPDATE webhook_deliveries SET destination = url WHERE status = 'pending'`.execute(
          db,
        )
        // Attempt logs written before held raw error text (`connect ECONNREFUSED 127.0.0.1:3999`);
        // they now hold only a reason (docs/webhooks.md), so the old entries become one too.
        await sql`UPDATE webhook_attempts SET error = ${sql.raw(LEGACY_REASON('error'))} WHERE error IS NOT NULL`.execute(
          db,
        )
        await sql`UPDATE webhook_deliveries SET last_error = ${sql.raw(LEGACY_REASON('last_error'))} WHERE last_error IS NOT NULL`.execute(
          db,
        )
        await db.schema.dropIndex('webhook_deliveries_due').execute()
        await sql`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, destination) WHERE status = 'pending'`.execute(
          db,
        )
      },
    },
    '0003_provider_refs_and_attempts': {
      async up(db: Kysely<unknown>) {
        const money = dialect === 'postgres' ? 'double precision' : 'real'
        // What the message went out as, and what it cost: intake sets none of these (they
        // default to NULL and stay out of its INSERT).
        for (const [column, type] of [
          ['sender', 'text'],
          ['estimated_cost', money],
          ['cost_currency', 'text'],
          ['price', money],
          ['price_currency', 'text'],
        ] as const) {
          await db.schema.alterTable('messages').addColumn(column, type).execute()
        }
        // One row per provider id: a part of an outbound message as the provider answered or
        // reported it (reports match here), or an inbound message (its id stored once).
        await db.schema
          .createTable('provider_refs')
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('provider_message_id', 'text', (c) => c.notNull())
          .addColumn('message_id', 'text', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('part', 'integer', (c) => c.notNull())
          .addColumn('parts', 'integer', (c) => c.notNull())
          .addColumn('status', 'text')
          .addColumn('error_code', 'text')
          .addColumn('price', money)
          .addColumn('currency', 'text')
          .addPrimaryKeyConstraint('provider_refs_pk', ['provider', 'provider_message_id'])
          .execute()
        await db.schema
          .createIndex('provider_refs_message')
          .on('provider_refs')
          .columns(['message_id', 'attempt'])
          .execute()
        // Existing provider ids: one part each, of the attempt that recorded them. An id seen
        // twice (an inbound webhook stored again before this version) keeps its first message.
        await sql`INSERT INTO provider_refs (provider, provider_message_id, message_id, attempt, part, parts, status) SELECT provider, provider_message_id, id, attempts, 1, 1, CASE WHEN status IN ('sent', 'delivered', 'undelivered', 'failed', 'received') THEN status ELSE NULL END FROM messages WHERE provider IS NOT NULL AND provider_message_id IS NOT NULL ORDER BY id ON CONFLICT DO NOTHING`.execute(
          db,
        )
        // Reports match on provider_refs now: the messages index would only cost every send.
        await db.schema.dropIndex('messages_provider_ref').execute()

        await db.schema
          .createTable('attempts')
          .addColumn('message_id', 'text', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('sender', 'text')
          .addColumn('started_at', big, (c) => c.notNull())
          .addColumn('ended_at', big, (c) => c.notNull())
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('error_code', 'text')
          .addColumn('latency_ms', 'integer', (c) => c.notNull())
          .addColumn('cost', money)
          .addColumn('cost_currency', 'text')
          .addPrimaryKeyConstraint('attempts_pk', ['message_id', 'attempt'])
          .execute()

        // Parts of concatenated inbound SMS until the last one comes.
        await db.schema
          .createTable('inbound_parts')
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('from_number', 'text', (c) => c.notNull())
          .addColumn('concat_ref', 'text', (c) => c.notNull())
          .addColumn('part', 'integer', (c) => c.notNull())
          .addColumn('total', 'integer', (c) => c.notNull())
          .addColumn('to_number', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('provider_message_id', 'text', (c) => c.notNull())
          .addColumn('received_at', big, (c) => c.notNull())
          .addPrimaryKeyConstraint('inbound_parts_pk', [
            'provider',
            'from_number',
            'concat_ref',
            'part',
          ])
          .execute()
      },
    },
    '0004_routing': {
      async up(db: Kysely<unknown>) {
        // A recipient who opted out of a sender (Twilio 21610): later messages from that
        // sender to that number fail without being sent. `sender_key` is the sender, or
        // `@{instance}` for an instance's default sender (no `from`).
        await db.schema
          .createTable('suppressions')
          .addColumn('recipient', 'text', (c) => c.notNull())
          .addColumn('sender_key', 'text', (c) => c.notNull())
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('error_code', 'text', (c) => c.notNull())
          .addColumn('created_at', big, (c) => c.notNull())
          .addPrimaryKeyConstraint('suppressions_pk', ['recipient', 'sender_key'])
          .execute()
        // Each sending process's view of its provider instances (health, circuit), written
        // every few seconds, for API processes that send nothing (cluster mode).
        await db.schema
          .createTable('provider_health')
          .addColumn('worker', 'text', (c) => c.notNull())
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('snapshot', 'text', (c) => c.notNull())
          .addColumn('updated_at', big, (c) => c.notNull())
          .addPrimaryKeyConstraint('provider_health_pk', ['worker', 'provider'])
          .execute()
      },
    },
    '0005_pacing': {
      async up(db: Kysely<unknown>) {
        // Claims serve the priority lane first: one partial index per lane, each walked in time
        // order, so transactional messages are found at once behind any marketing backlog.
        await db.schema.dropIndex('messages_due').execute()
        await sql`CREATE INDEX messages_due_transactional ON messages (next_attempt_at) WHERE status IN ('queued', 'scheduled') AND type = 'transactional'`.execute(
          db,
        )
        await sql`CREATE INDEX messages_due_marketing ON messages (next_attempt_at) WHERE status IN ('queued', 'scheduled') AND type = 'marketing'`.execute(
          db,
        )
        // The pacing schedule shared by worker processes (src/queue/pacing): per provider
        // instance or sender, the sends booked in the last second and the next one.
        await db.schema
          .createTable('pacing')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('slots', 'text', (c) => c.notNull())
          .addColumn('updated_at', big, (c) => c.notNull())
          .execute()
      },
    },
    '0006_events_and_consent': {
      async up(db: Kysely<unknown>) {
        // Application events (message.received, consent.changed, ...) in the order they were
        // raised: the event stream replays from here (`Last-Event-ID` is an id), and the outbox
        // rows for webhook endpoints are written beside each one in the same transaction.
        await db.schema
          .createTable('events')
          .addColumn('id', serial, (c) => c.primaryKey())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('at', big, (c) => c.notNull())
          .execute()
        await db.schema.createIndex('events_at').on('events').column('at').execute()
        // The consent ledger: append-only opt-ins and opt-outs. A number's current state per
        // scope is its latest row for that scope; rows change only by GDPR erasure.
        await db.schema
          .createTable('consents')
          .addColumn('id', serial, (c) => c.primaryKey())
          .addColumn('phone', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('disclosure', 'text')
          .addColumn('evidence', 'text')
          .addColumn('at', big, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('consents_phone')
          .on('consents')
          .columns(['phone', 'scope', 'id'])
          .execute()
      },
    },
    '0007_consent_refusals': {
      async up(db: Kysely<unknown>) {
        // Sends refused at intake for consent: no message row exists for them, so stats count
        // them here (reason, message type, time; no number).
        await db.schema
          .createTable('consent_refusals')
          .addColumn('id', serial, (c) => c.primaryKey())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('at', big, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('consent_refusals_at')
          .on('consent_refusals')
          .column('at')
          .execute()
      },
    },
    '0008_conversations': {
      async up(db: Kysely<unknown>) {
        // A person who texted in, once per E.164 number (created by their first inbound SMS).
        await db.schema
          .createTable('contacts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('phone', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', big, (c) => c.notNull())
          .execute()
        // One thread per contact and Switchboard number. Its messages are found by query
        // (inbound: from the contact to the number; outbound: to the contact from the number),
        // so intake and the send worker write nothing for it (docs/conversations.md).
        await db.schema
          .createTable('conversations')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('contact_id', 'text', (c) => c.notNull())
          .addColumn('number', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('unread', 'integer', (c) => c.notNull())
          .addColumn('assignee', 'text')
          .addColumn('last_message_at', big, (c) => c.notNull())
          .addColumn('flags', 'text', (c) => c.notNull())
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('updated_at', big, (c) => c.notNull())
          .addUniqueConstraint('conversations_contact_number', ['contact_id', 'number'])
          .execute()
        // Newest activity first, with (last_message_at, id) as the cursor.
        await db.schema
          .createIndex('conversations_activity')
          .on('conversations')
          .columns(['last_message_at', 'id'])
          .execute()
        // A thread's inbound half: messages from the contact to the number, in id order. Partial,
        // so outbound messages (the hot path) never touch it.
        await sql`CREATE INDEX messages_inbound_from ON messages (from_number, to_number, id) WHERE direction = 'inbound'`.execute(
          db,
        )
      },
    },
    '0011_privacy_audit': {
      async up(db: Kysely<unknown>) {
        // The audit log of administrative actions: append-only (nothing updates or deletes a
        // row). Ids are time-ordered, so pages go by id like messages. A phone number is never
        // stored here in clear, only its keyed hash (src/store/privacy.repo.ts).
        await db.schema
          .createTable('audit_log')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('target', 'text')
          .addColumn('details', 'text')
          .addColumn('at', big, (c) => c.notNull())
          .execute()
        // Opt-outs of erased numbers: the keyed hash (HMAC-SHA256 under the server's
        // `privacy_hash_key` setting) of the number per scope, so an opt-out survives erasure.
        await db.schema
          .createTable('erased_opt_outs')
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('at', big, (c) => c.notNull())
          .addPrimaryKeyConstraint('erased_opt_outs_pk', ['hash', 'scope'])
          .execute()
        // When a message's body (and, for an erasure, its number) was removed; null: kept.
        await db.schema.alterTable('messages').addColumn('body_purged_at', big).execute()
        // Erasure and export find a number's inbound messages by messages_inbound_from
        // (0008_conversations), its outbound ones by messages_to.
      },
    },
    '0012_templates': {
      async up(db: Kysely<unknown>) {
        // A message template (docs/templates.md): its name, the locale of its first version
        // (the fallback of every send), and when it was archived (null: in use).
        await db.schema
          .createTable('templates')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('default_locale', 'text', (c) => c.notNull())
          .addColumn('archived_at', big)
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('updated_at', big, (c) => c.notNull())
          .execute()
        // Its versions, numbered per locale from 1 and never changed once written.
        await db.schema
          .createTable('template_versions')
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('locale', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('variables', 'text', (c) => c.notNull())
          .addColumn('created_at', big, (c) => c.notNull())
          .addPrimaryKeyConstraint('template_versions_pk', ['name', 'locale', 'version'])
          .execute()
        // The template, version and locale a message was rendered from (null: a plain body).
        await db.schema.alterTable('messages').addColumn('template_name', 'text').execute()
        await db.schema.alterTable('messages').addColumn('template_version', 'integer').execute()
        await db.schema.alterTable('messages').addColumn('template_locale', 'text').execute()
      },
    },
    '0013_verifications': {
      async up(db: Kysely<unknown>) {
        // One verification (Verify API): the code only as an HMAC, its sends and checks counted.
        await db.schema
          .createTable('verifications')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('to_number', 'text', (c) => c.notNull())
          .addColumn('country', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('code_hmac', 'text', (c) => c.notNull())
          .addColumn('code_length', 'integer', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('sends', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('locale', 'text')
          .addColumn('template', 'text')
          .addColumn('client_ip', 'text')
          .addColumn('message_id', 'text')
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('expires_at', big, (c) => c.notNull())
          .addColumn('approved_at', big)
          .addColumn('locked_until', big)
          .addColumn('updated_at', big, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('verifications_to')
          .on('verifications')
          .columns(['to_number', 'created_at'])
          .execute()
        await db.schema
          .createIndex('verifications_created')
          .on('verifications')
          .column('created_at')
          .execute()
        // Every verification SMS sent: what the limits per number, client IP and destination
        // prefix, and the velocity detection, count.
        await db.schema
          .createTable('verification_sends')
          .addColumn('id', serial, (c) => c.primaryKey())
          .addColumn('verification_id', 'text', (c) => c.notNull())
          .addColumn('to_number', 'text', (c) => c.notNull())
          .addColumn('prefix', 'text', (c) => c.notNull())
          .addColumn('country', 'text')
          .addColumn('client_ip', 'text')
          .addColumn('at', big, (c) => c.notNull())
          .execute()
        for (const col of ['to_number', 'prefix', 'client_ip'] as const) {
          await db.schema
            .createIndex(`verification_sends_${col}`)
            .on('verification_sends')
            .columns([col, 'at'])
            .execute()
        }
        // Number ranges (or numbers, client IPs) blocked for a cool-down, with the reason.
        await db.schema
          .createTable('verification_blocks')
          .addColumn('id', serial, (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('details', 'text')
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('until', big, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('verification_blocks_value')
          .on('verification_blocks')
          .columns(['kind', 'value', 'until'])
          .execute()
      },
    },
    '0013_verifications_more': {
      async up(db: Kysely<unknown>) {
        // While a verification is pending: its code (a re-send sends the same one) and the
        // text of its SMS (the dispatcher sends it; the message log keeps it redacted),
        // AES-256-GCM under the server's Verify key; both set to NULL when it ends.
        await db.schema.alterTable('verifications').addColumn('code_cipher', 'text').execute()
        await db.schema.alterTable('verifications').addColumn('text_cipher', 'text').execute()
        await db.schema
          .alterTable('verifications')
          .addColumn('ttl_seconds', 'integer', (c) => c.notNull().defaultTo(600))
          .execute()
        // Pending verifications past their expiry are closed (and wiped) by a range scan.
        await db.schema
          .createIndex('verifications_status_expiry')
          .on('verifications')
          .columns(['status', 'expires_at'])
          .execute()
        // Refused requests of the Verify API (GET /v1/verifications/stats): no number.
        await db.schema
          .createTable('verification_refusals')
          .addColumn('id', serial, (c) => c.primaryKey())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('country', 'text')
          .addColumn('at', big, (c) => c.notNull())
          .execute()
        await db.schema
          .createIndex('verification_refusals_at')
          .on('verification_refusals')
          .column('at')
          .execute()
      },
    },
    '0015_users': {
      async up(db: Kysely<unknown>) {
        // Dashboard users (docs/dashboard-auth.md): e-mail lower-cased, scrypt hash with its
        // parameters and salt in the string.
        await db.schema
          .createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('disabled_at', big)
          .execute()
        // Sessions by the SHA-256 hash of their cookie token; the token is never stored.
        await db.schema
          .createTable('sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('csrf_token', 'text', (c) => c.notNull())
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('expires_at', big, (c) => c.notNull())
          .addColumn('revoked_at', big)
          .addColumn('last_seen_at', big, (c) => c.notNull())
          .execute()
        await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute()
      },
    },
    '0016_stats': {
      async up(db: Kysely<unknown>) {
        const real = dialect === 'postgres' ? 'double precision' : 'real'
        // GET /v1/stats (docs/stats.md): settled messages summed per creation hour and per
        // creation day (UTC, `span`) and dimension; '' stands for an unknown provider, country,
        // error code or currency.
        await db.schema
          .createTable('stats_rollup')
          .addColumn('span', 'text', (c) => c.notNull())
          .addColumn('start', big, (c) => c.notNull())
          .addColumn('direction', 'text', (c) => c.notNull())
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('country', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('error_code', 'text', (c) => c.notNull())
          .addColumn('currency', 'text', (c) => c.notNull())
          .addColumn('messages', big, (c) => c.notNull())
          .addColumn('segments', big, (c) => c.notNull())
          .addColumn('cost', real, (c) => c.notNull())
          .addPrimaryKeyConstraint('stats_rollup_pk', [
            'span',
            'start',
            'direction',
            'provider',
            'country',
            'status',
            'error_code',
            'currency',
          ])
          .execute()
        // Creation-to-delivery latency of delivered messages: counts per log-spaced bucket.
        await db.schema
          .createTable('stats_latency')
          .addColumn('span', 'text', (c) => c.notNull())
          .addColumn('start', big, (c) => c.notNull())
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('country', 'text', (c) => c.notNull())
          .addColumn('bucket', 'integer', (c) => c.notNull())
          .addColumn('count', big, (c) => c.notNull())
          .addPrimaryKeyConstraint('stats_latency_pk', [
            'span',
            'start',
            'provider',
            'country',
            'bucket',
          ])
          .execute()
        // Messages behind the watermark not yet settled: counted live until they settle.
        await db.schema
          .createTable('stats_pending')
          .addColumn('message_id', 'text', (c) => c.primaryKey())
          .execute()
        // Opt-outs per period (the consent ledger is otherwise read by number).
        await db.schema.createIndex('consents_at').on('consents').column('at').execute()
      },
    },
    '0019_messages_provider': {
      async up(db: Kysely<unknown>) {
        // The message log's filters (GET /v1/messages): `from` and `number` (to or from) look
        // up by sender. Partial: outbound messages without their own `from` never enter it,
        // and from_number never changes after the insert, so sends do not write it. The
        // provider filter has no index (see Store.listMessages).
        await sql`CREATE INDEX messages_from ON messages (from_number, id) WHERE from_number IS NOT NULL`.execute(
          db,
        )
      },
    },
  }
}
