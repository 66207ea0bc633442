// Runs the test suites with node:test through tsx. Node 20's --test does not expand globs,
// so the files are listed here. Usage: node test/run.mjs unit|integration|browser|all [filter...]
// The browser suite builds the dashboard (dist/web) first and drives Chromium (test/browser).
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function find(dir, filter) {
  const out = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (name === 'node_modules') continue
    if (statSync(p).isDirectory()) out.push(...find(p, filter))
    else if (filter(p)) out.push(p)
  }
  return out.sort()
}

function run(files, env = {}) {
  if (files.length === 0) return 0
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
    { stdio: 'inherit', env: { ...process.env, ...env } },
  )
  return res.status ?? 1
}

const which = process.argv[2] ?? 'all'
const only = process.argv.slice(3)
const pick = (files) => (only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files)
let failed = 0
if (which === 'unit' || which === 'all') {
  failed |= run(
    pick([
      ...find('src', (p) => p.endsWith('.test.ts')),
      ...find(
        'test',
        (p) => p.endsWith('.test.ts') && !p.includes('integration') && !p.includes('browser'),
      ),
    ]),
  )
}
if (which === 'integration' || which === 'all') {
  const files = pick(find('test/integration', (p) => p.endsWith('.test.ts')))
  for (const db of (process.env.TEST_DATABASES ?? 'sqlite,postgres').split(',')) {
    console.log(`\n# integration suite on ${db}\n`)
    failed |= run(files, { TEST_DB: db })
  }
}
if (which === 'browser' || which === 'all') {
  console.log('\n# browser suite (dashboard in Chromium)\n')
  const build = spawnSync(
    process.execPath,
    ['node_modules/vite/bin/vite.js', 'build', '--config', 'web/vite.config.ts'],
    { stdio: 'inherit' },
  )
  if (build.status !== 0) failed |= 1
  else
    failed |= run(pick(find('test/browser', (p) => p.endsWith('.test.ts'))), { TEST_DB: 'sqlite' })
}
process.exit(failed ? 1 : 0)
