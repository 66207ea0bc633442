/**
 * README.md and docs/*.md as a newcomer reads them: the CLI commands they show run as written
 * from a clone (`npx switchboard ...`; a bare `switchboard` is on no PATH without a global
 * install), and the listen address they give is the one the server uses by default.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { loadConfig } from '../src/config.js'

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8')
const docs = [
  'README.md',
  ...readdirSync(new URL('../docs', import.meta.url))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]
const COMMANDS = 'start|migrate|keys|users|webhooks|providers|send|messages|simulator|privacy|help'
const BARE = new RegExp(`(?<!npx )\\bswitchboard (?:${COMMANDS})\\b`)

test('CLI examples in the docs run from a clone (npx switchboard ...)', () => {
  const bare = docs.flatMap((path) =>
    read(path)
      .split('\n')
      .flatMap((line, i) => (BARE.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : [])),
  )
  assert.deepEqual(bare, [])
  assert.match(read('README.md'), new RegExp(`npx switchboard (?:${COMMANDS})`))
})

test('the documented default listen address is the default', () => {
  const { host, port } = loadConfig({})
  assert.ok(read('README.md').includes(`| \`PORT\`, \`HOST\` | \`${port}\`, \`${host}\` |`))
  assert.ok(read('README.md').includes(`http://${host}:${port}`))
  assert.ok(read('docs/configuration.md').includes(`| \`HOST\` | \`${host}\` |`))
})
