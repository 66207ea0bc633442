/**
 * The lockfile against the Node version the project declares: every locked package (runtime
 * and development) must support the lowest Node that package.json `engines` and the README
 * accept, so `npm install` and `npm ci` print no EBADENGINE warning on it. A dependency update
 * that pulls in a package needing a newer Node fails here; pin it with `overrides`.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import semver from 'semver'

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8')

const pkg = JSON.parse(read('package.json')) as { engines: { node: string } }
const lock = JSON.parse(read('package-lock.json')) as {
  packages: Record<string, { version?: string; engines?: Record<string, string> | string[] }>
}
const lowest = semver.minVersion(pkg.engines.node)?.version ?? ''

test('package.json declares a lowest Node version, and the README names it', () => {
  assert.match(lowest, /^\d+\.\d+\.\d+$/)
  const [major, minor] = lowest.split('.')
  assert.ok(read('README.md').includes(`Node ${major}.${minor}+`))
})

test('every locked package supports the lowest declared Node', () => {
  const unsupported = Object.entries(lock.packages)
    .filter(([path]) => path !== '')
    .flatMap(([path, entry]) => {
      // npm only checks the object form; the old array form is ignored by npm too.
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node
      return range !== undefined && !semver.satisfies(lowest, range)
        ? [`${path.replace(/^.*node_modules\//, '')}@${entry.version}: node ${range}`]
        : []
    })
  assert.deepEqual(unsupported, [], `packages that need a newer Node than ${lowest}`)
})
