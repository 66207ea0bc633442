import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { createLogger } from './logger.js'

function capture() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString())
      cb()
    },
  })
  return { lines, logger: createLogger('debug', stream) }
}

test('phone numbers are masked to their last four digits and bodies never appear', () => {
  const { lines, logger } = capture()
  logger.info(
    { to: '+14155550100', from_number: '+447700900123', body: 'secret body', key: 'sb_live_x' },
    'sent to +14155550100',
  )
  logger.warn({ nested: { to: '+14155550199', text: 'hello there' } }, 'ok')
  logger.error({ err: new Error('duplicate key (to_number)=(+14155550111)') }, 'boom')
  const out = lines.join('')
  for (const leaked of [
    '4155550100',
    '7700900123',
    'secret body',
    'sb_live_x',
    'hello there',
    '4155550199',
    '4155550111',
  ]) {
    assert.ok(!out.includes(leaked), `leaked ${leaked}`)
  }
  assert.match(out, /\*+0100/)
  assert.match(out, /\[redacted\]/)
})
