import { rows, type Query } from './executor.js'

/**
 * PostgreSQL's lock order for writes about sends: a transaction locks the rows of the messages
 * it is about, all at once and in id order, before it touches anything of theirs
 * (provider_refs, attempts). The worker's record of a send and a delivery report about it
 * otherwise take the message row and the provider id's row in opposite orders and deadlock (a
 * report overtakes the record: it writes the id first, the record locks the message first).
 * One order makes them queue instead. SQLite runs one write transaction at a time: no-op.
 *
 * `COLLATE "C"` is the byte order the repositories sort their batches by in JavaScript.
 */
const LOCK_MESSAGES = 'SELECT id FROM messages WHERE id = ANY(?) ORDER BY id COLLATE "C" FOR UPDATE'

/**
 * The messages a batch of reports is about: those their provider ids (and parent ids) were
 * recorded for, and those they name by our id. One statement, whatever the batch's size.
 */
const LOCK_REPORTED =
  'SELECT id FROM messages WHERE id = ANY(ARRAY(SELECT message_id FROM provider_refs WHERE provider = ? AND provider_message_id = ANY(?)) || CAST(? AS text[])) ORDER BY id COLLATE "C" FOR UPDATE'

export function* lockMessages(
  dialect: 'sqlite' | 'postgres',
  ids: Iterable<string>,
): Generator<Query, void, unknown> {
  if (dialect !== 'postgres') return
  const list = [...new Set(ids)]
  if (list.length > 0) yield rows(LOCK_MESSAGES, [list])
}

/** Locks (as {@link lockMessages}) the messages of `provider`'s ids `providerIds` and `ids`. */
export function* lockReportedMessages(
  dialect: 'sqlite' | 'postgres',
  provider: string,
  providerIds: Iterable<string>,
  ids: Iterable<string>,
): Generator<Query, void, unknown> {
  if (dialect !== 'postgres') return
  const refs = [...new Set(providerIds)]
  const named = [...new Set(ids)]
  if (refs.length + named.length > 0) yield rows(LOCK_REPORTED, [provider, refs, named])
}
