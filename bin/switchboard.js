#!/usr/bin/env node
// Runs the compiled CLI (npm run build); from a source checkout without a build, runs the
// TypeScript through tsx instead.
import { existsSync } from 'node:fs'

const compiled = new URL('../dist/cli/run.js', import.meta.url)
if (existsSync(compiled)) {
  await import(compiled.href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../src/cli/run.ts')
}
