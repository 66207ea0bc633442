import type { MessageRecord } from '../domain/messages/message.js'
import { presentMessage } from '../domain/messages/present.js'
import type { TxProgram } from '../store/executor.js'
import type { Store } from '../store/store.js'

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

/**
 * The effects of inbound SMS on `store`: each raises `message.received` (webhooks, stream) and
 * is threaded into its contact's conversation with the number it was sent to.
 */
export function inboundEffects(store: Store): InboundEffect {
  return function* (stored, now) {
    const threaded = yield* store.conversations.recordInbound(stored, now)
    yield* store.events.raise(
      stored.map((m) => ({
        type: 'message.received',
        data: { ...presentMessage(m), conversationId: threaded.get(m.id) ?? null },
        at: now,
      })),
    )
  }
}
