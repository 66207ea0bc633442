/**
 * docs/configuration.md against the one list of configuration keys (src/config-keys.ts): every
 * key is documented as a table row, and every documented row names a key Switchboard reads,
 * so both a missing entry and a stale one fail.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import { CONFIG_KEYS } from '../src/config-keys.js'

const doc = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8')
/** A table row whose first cell is a backticked upper-case key: `| \`PORT\` | ...`. */
const ROW = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/gm
const documented = [...doc.matchAll(ROW)].map((m) => m[1] ?? '')

test('every configuration key is documented in docs/configuration.md', () => {
  const missing = CONFIG_KEYS.filter((k) => !documented.includes(k))
  assert.deepEqual(missing, [], `undocumented keys: ${missing.join(', ')}`)
})

test('every key docs/configuration.md documents is one Switchboard reads', () => {
  const known: readonly string[] = CONFIG_KEYS
  const stale = documented.filter((k) => !known.includes(k))
  assert.deepEqual(stale, [], `documented but not read: ${stale.join(', ')}`)
})

test('each key is documented once', () => {
  const twice = documented.filter((k, i) => documented.indexOf(k) !== i)
  assert.deepEqual(twice, [])
})
