/**
 * docs/errors.md against the two code registries: every API error code (`errors`) and every
 * message error code (`PROVIDER_ERROR_CODES`) is documented, and every code the document lists
 * exists, so both a missing entry and a stale one fail.
 *
 * A code is "listed" when it is a level-3 heading made of that code alone (### `invalid_json`)
 * or the first cell of a row in a table whose first column is headed "Code". Other backticked
 * words (field names, `details.reason` values) are prose and are not checked.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import { errors } from '../src/domain/errors.js'
import { PROVIDER_ERROR_CODES } from '../src/providers/provider.js'

const DOC_PATH = new URL('../docs/errors.md', import.meta.url)
const doc = readFileSync(DOC_PATH, 'utf8')

const apiCodes = Object.keys(errors)
const messageCodes: readonly string[] = PROVIDER_ERROR_CODES
const registry = new Set([...apiCodes, ...messageCodes])

const CODE_HEADING = /^###\s+`([a-z][a-z0-9_]*)`\s*$/
const CODE_CELL = /^`([a-z][a-z0-9_]*)`$/

interface CodeTableRow {
  code: string
  cells: string[]
  line: number
}

/** Splits a Markdown table row into trimmed cells (no escaped pipes inside code cells here). */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim())
}

/** Code headings, code table rows and every first cell of a code table, by parsing the Markdown. */
function parseDoc(text: string): {
  headings: Map<string, number>
  rows: CodeTableRow[]
  /** First cells of code tables that are not a backticked snake_case code. */
  oddCells: { cell: string; line: number }[]
  /** Header cells of each code table, by the line of its header. */
  tables: Map<number, string[]>
} {
  const lines = text.split('\n')
  const headings = new Map<string, number>()
  const rows: CodeTableRow[] = []
  const oddCells: { cell: string; line: number }[] = []
  const tables = new Map<number, string[]>()
  let inFence = false
  let table: { header: string[]; isCodeTable: boolean } | null = null
  lines.forEach((raw, i) => {
    const line = raw.trimEnd()
    if (/^\s*```/.test(line)) {
      inFence = !inFence
      table = null
      return
    }
    if (inFence) return
    const heading = CODE_HEADING.exec(line)
    if (heading?.[1]) headings.set(heading[1], i + 1)
    if (!line.trimStart().startsWith('|')) {
      table = null
      return
    }
    const row = cells(line)
    if (table === null) {
      table = { header: row, isCodeTable: row[0]?.toLowerCase() === 'code' }
      if (table.isCodeTable) tables.set(i + 1, row)
      return
    }
    if (row.every((c) => /^:?-+:?$/.test(c))) return // the |---| separator
    if (!table.isCodeTable) return
    const first = row[0] ?? ''
    const m = CODE_CELL.exec(first)
    if (m?.[1]) rows.push({ code: m[1], cells: row, line: i + 1 })
    else oddCells.push({ cell: first, line: i + 1 })
  })
  return { headings, rows, oddCells, tables }
}

function listed(text: string): Set<string> {
  const { headings, rows } = parseDoc(text)
  return new Set([...headings.keys(), ...rows.map((r) => r.code)])
}

const missingFrom = (text: string, codes: readonly string[]) => {
  const found = listed(text)
  return codes.filter((c) => !found.has(c))
}
const staleIn = (text: string) => [...listed(text)].filter((c) => !registry.has(c)).sort()

test('the registries are non-trivial (guards against testing an empty list)', () => {
  assert.ok(apiCodes.length >= 20, `only ${apiCodes.length} API codes`)
  assert.ok(messageCodes.length >= 10, `only ${messageCodes.length} message codes`)
  assert.ok(apiCodes.includes('invalid_json') && messageCodes.includes('invalid_number'))
})

test('every API error code is documented in docs/errors.md', () => {
  assert.deepEqual(missingFrom(doc, apiCodes), [])
})

test('every message error code (PROVIDER_ERROR_CODES) is documented in docs/errors.md', () => {
  assert.deepEqual(missingFrom(doc, messageCodes), [])
})

test('every code listed in docs/errors.md exists in a registry (no stale entries)', () => {
  const { oddCells } = parseDoc(doc)
  assert.deepEqual(staleIn(doc), [])
  assert.deepEqual(oddCells, [], 'a "Code" table has a first cell that is not a `code`')
})

test('every API error code has its own section with its status and a matching example body', () => {
  const { headings, rows } = parseDoc(doc)
  const lines = doc.split('\n')
  for (const code of apiCodes) {
    const def = errors[code as keyof typeof errors]
    const start = headings.get(code)
    assert.ok(start, `no "### \`${code}\`" section`)
    const next = lines.findIndex((l, i) => i >= start && /^#{1,3}\s/.test(l))
    const section = lines.slice(start, next === -1 ? undefined : next).join('\n')
    assert.match(section, new RegExp(`\\*\\*HTTP ${def.status}\\.\\*\\*`), `${code}: status line`)
    assert.match(section, /\*\*What to do/, `${code}: no "What to do"`)
    const json = /```json\n([\s\S]*?)\n```/.exec(section)?.[1]
    assert.ok(json, `${code}: no example body`)
    const example = JSON.parse(json) as { error?: { code?: unknown; message?: unknown } }
    assert.deepEqual(Object.keys(example), ['error'], `${code}: example is not { error }`)
    assert.equal(example.error?.code, code, `${code}: example body has another code`)
    assert.equal(typeof example.error?.message, 'string', `${code}: example without message`)
    // The summary table, when it lists the code, states the registry's status.
    for (const row of rows.filter((r) => r.code === code && /^\d{3}$/.test(r.cells[1] ?? ''))) {
      assert.equal(Number(row.cells[1]), def.status, `${code}: table status (line ${row.line})`)
    }
  }
})

test('every message error code is in a table that says what it means and what maps to it', () => {
  const { rows, tables } = parseDoc(doc)
  assert.ok(tables.size > 0)
  for (const code of messageCodes) {
    const row = rows.find((r) => r.code === code && r.cells.length >= 3)
    assert.ok(row, `${code}: no table row`)
    assert.ok(
      row.cells.slice(1).every((c) => c.length > 0),
      `${code}: empty cell on line ${row.line}`,
    )
  }
})

test('the checks catch a missing code and a stale one (self-test of the parser)', () => {
  // Remove every line that lists `invalid_json` or `carrier_error` as a code.
  const without = doc
    .split('\n')
    .filter((l) => !/^(###\s+|\|\s*)`(invalid_json|carrier_error)`/.test(l))
    .join('\n')
  assert.deepEqual(missingFrom(without, apiCodes), ['invalid_json'])
  assert.deepEqual(missingFrom(without, messageCodes), ['carrier_error'])
  // A mention in prose does not count as documentation.
  assert.deepEqual(missingFrom(`${without}\nSee \`invalid_json\`.\n`, apiCodes), ['invalid_json'])

  const table = '| Code | HTTP status |\n| --- | --- |\n| `gone_code` | 400 |\n'
  assert.deepEqual(staleIn(`${doc}\n${table}`), ['gone_code'])
  assert.deepEqual(staleIn(`${doc}\n### \`old_code\`\n`), ['old_code'])
  // A table headed by something else (e.g. "Reason") is not a code table.
  assert.deepEqual(staleIn(`${doc}\n| Reason |\n| --- |\n| \`too_short\` |\n`), [])
})
