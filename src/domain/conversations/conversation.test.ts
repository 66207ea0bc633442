import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  containsPattern,
  decodeConversationCursor,
  encodeConversationCursor,
  flagsOf,
  MAX_FLAGS,
  mergeFlags,
  parseFlags,
  presentConversation,
  type ConversationFlag,
} from './conversation.js'

const AT = Date.UTC(2026, 0, 2, 3, 4, 5, 6)
const msg = (body: string, id = 'msg_1') => ({ id, body, created_at: AT })
const flag = (messageId: string): ConversationFlag => ({
  type: 'possible_opt_out',
  messageId,
  at: new Date(AT).toISOString(),
})

describe('conversation flags', () => {
  test('free text that reads like an opt-out raises possible_opt_out with its message', () => {
    assert.deepEqual(flagsOf(msg('please stop texting me', 'msg_9')), [flag('msg_9')])
    assert.deepEqual(flagsOf(msg('Unsubscribe me from this')), [flag('msg_1')])
  })

  test('a keyword or ordinary text raises nothing', () => {
    for (const body of ['STOP', ' stop! ', 'HELP', 'Where is my order?', 'Yes please']) {
      assert.deepEqual(flagsOf(msg(body)), [], body)
    }
  })

  test('merged once per type and message, oldest first, the newest kept', () => {
    assert.deepEqual(mergeFlags([flag('a')], [flag('a'), flag('b')]), [flag('a'), flag('b')])
    const many = Array.from({ length: MAX_FLAGS + 3 }, (_, i) => flag(`m${i}`))
    const kept = mergeFlags([], many)
    assert.equal(kept.length, MAX_FLAGS)
    assert.equal(kept[0]?.messageId, 'm3')
    assert.equal(kept.at(-1)?.messageId, `m${MAX_FLAGS + 2}`)
  })

  test('stored flags that cannot be read are none', () => {
    assert.deepEqual(parseFlags('[]'), [])
    assert.deepEqual(parseFlags(''), [])
    assert.deepEqual(parseFlags('{"a":1}'), [])
    assert.deepEqual(parseFlags('not json'), [])
    assert.deepEqual(parseFlags(JSON.stringify([flag('x')])), [flag('x')])
  })
})

describe('conversation cursor', () => {
  const id = 'conv_01JABCDEFGHJKMNPQRSTVWXYZ0'
  test('round trips', () => {
    const c = { lastMessageAt: AT, id }
    assert.deepEqual(decodeConversationCursor(encodeConversationCursor(c)), c)
  })
  test('anything else is refused', () => {
    for (const text of [
      '',
      'nope',
      Buffer.from(`x.${id}`).toString('base64url'),
      Buffer.from(`${AT}.msg_01JABCDEFGHJKMNPQRSTVWXYZ0`).toString('base64url'),
      Buffer.from(`${AT}.${id}'`).toString('base64url'),
    ]) {
      assert.equal(decodeConversationCursor(text), null, text)
    }
  })
})

describe('text search pattern', () => {
  test('finds the text anywhere, its wildcards and the escape character literal', () => {
    assert.equal(containsPattern('late'), '%late%')
    assert.equal(containsPattern('50%_off\\'), '%50\\%\\_off\\\\%')
  })
})

describe('presentConversation', () => {
  test('unread is a boolean, times are ISO, flags parsed; PostgreSQL bigints as numbers', () => {
    const view = {
      id: 'conv_1',
      contact_id: 'ct_1',
      phone: '+14155550100',
      contact_created_at: AT,
      number: '+15005550006',
      status: 'open' as const,
      unread: 1,
      assignee: null,
      last_message_at: AT,
      flags: JSON.stringify([flag('msg_1')]),
      created_at: AT,
      updated_at: AT,
    }
    const iso = new Date(AT).toISOString()
    assert.deepEqual(presentConversation(view), {
      id: 'conv_1',
      contact: { id: 'ct_1', phone: '+14155550100', createdAt: iso },
      number: '+15005550006',
      status: 'open',
      unread: true,
      assignee: null,
      lastMessageAt: iso,
      flags: [flag('msg_1')],
      createdAt: iso,
      updatedAt: iso,
    })
    assert.equal(presentConversation({ ...view, unread: 0 }).unread, false)
  })
})
