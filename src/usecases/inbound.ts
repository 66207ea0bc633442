import type { MessageRecord } from '../domain/messages/message.js'
import { presentMessage } from '../domain/messages/present.js'
import type { TxProgram } from '../store/executor.js'
import type { Store } from '../store/store.js'
import { keywordEffects, type KeywordOptions } from './keywords.js'

/**
 * What inbound SMS set off, run in the transaction that stores them, so a provider's webhook is
 * answered only once the message and everything it triggers are committed (an event for the
 * application; threading, keywords and consent hook in here too).
 */
export type InboundEffect = (stored: readonly MessageRecord[], now: number) => TxProgram<void>

// eslint-disable-next-line require-yield
export const noInboundEffect: InboundEffect = function* () {
  return
}

/** The configuration inbound effects read (src/config.ts Config has these). */
export interface InboundSettings {
  readonly keywords?: KeywordOptions['keywords']
  readonly routing?: { readonly routes: NonNullable<KeywordOptions['routes']> }
  readonly messages?: KeywordOptions['policy']
}

/**
 * The effects of inbound SMS on `store`: each is threaded into its contact's conversation with
 * the number it was sent to and raises `message.received` (webhooks, stream); keywords change
 * consent and queue their replies.
 */
export function inboundEffects(store: Store, config: InboundSettings = {}): InboundEffect {
  const keywords = keywordEffects(store, {
    keywords: config.keywords,
    routes: config.routing?.routes,
    policy: config.messages,
  })
  return function* (stored, now) {
    const threaded = yield* store.conversations.recordInbound(stored, now)
    yield* store.events.raise(
      stored.map((m) => ({
        type: 'message.received',
        data: { ...presentMessage(m), conversationId: threaded.get(m.id) ?? null },
        at: now,
      })),
    )
    yield* keywords(stored, now)
  }
}
