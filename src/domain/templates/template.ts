/**
 * Message templates (docs/templates.md): Liquid text (liquidjs) with declared, typed
 * variables, rendered for SMS (no HTML escaping) and never with a blank where a variable was
 * missing. No HTTP, SQL or cache here: src/usecases/templates.ts keeps the versions.
 */
import { Liquid, Tag, type Template } from 'liquidjs'
import { errors, type ErrorDef } from '../errors.js'

export const VARIABLE_TYPES = ['string', 'number', 'date', 'currency'] as const
export type VariableType = (typeof VARIABLE_TYPES)[number]

/** A declared variable: its type, an optional default of that type, a date's time zone. */
export interface VariableDecl {
  readonly type: VariableType
  readonly default?: unknown
  /** `date` only: the IANA time zone a date-time is shown in (default UTC). */
  readonly timeZone?: string
}
export type VariableDecls = Readonly<Record<string, VariableDecl>>

/** A currency value: `{ "amount": 12.5, "currency": "BRL" }`. */
export interface CurrencyValue {
  readonly amount: number
  readonly currency: string
}

export const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/
export const MAX_VARIABLES = 50
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i
const CURRENCY = /^[A-Z]{3}$/

/** A tag that reads other templates (files): refused when a body is parsed. */
class Refused extends Tag {
  constructor(...args: ConstructorParameters<typeof Tag>) {
    super(...args)
    throw new Error(`the ${args[0].name} tag is not available in SMS templates`)
  }
  *render(): Generator<unknown, void, unknown> {
    // never reached: the constructor refuses the tag
  }
}

/**
 * One Liquid engine for every template: no file system (`templates: {}`), strict variables and
 * filters, own properties only, and bounded parse, render time and memory, since bodies come
 * from API callers. Output is not escaped: this is SMS text.
 */
const liquid = new Liquid({
  templates: {},
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  parseLimit: 100_000,
  renderLimit: 200,
  memoryLimit: 10_000_000,
})
for (const tag of ['include', 'render', 'layout']) liquid.registerTag(tag, Refused)

/** A parsed body. */
export interface Compiled {
  readonly templates: Template[]
  /** Global variable names the body references (loop and assigned names excluded). */
  readonly references: readonly string[]
}

export type Check<T> =
  { ok: true; value: T } | { ok: false; error: ErrorDef; details: Record<string, unknown> }

const bad = (details: Record<string, unknown>): Check<never> => ({
  ok: false,
  error: errors.template_invalid,
  details,
})

/** Parses a body and lists the variables it references; a syntax error is `template_invalid`. */
export function compile(body: string): Check<Compiled> {
  try {
    const templates = liquid.parse(body)
    return { ok: true, value: { templates, references: liquid.globalVariablesSync(templates) } }
  } catch (err) {
    return bad({ field: 'body', reason: (err as Error).message.split('\n')[0] ?? 'syntax error' })
  }
}

/** The canonical BCP 47 form of a locale (`pt-br` → `pt-BR`), or undefined when invalid. */
export function canonicalLocale(locale: string): string | undefined {
  if (locale.length === 0 || locale.length > 35) return undefined
  try {
    return Intl.getCanonicalLocales(locale)[0]
  } catch {
    return undefined
  }
}

/**
 * The locales tried for a send in `locale`, most specific first: `pt-BR`, then `pt`, then the
 * template's default (each subtag dropped in turn: `zh-Hant-TW`, `zh-Hant`, `zh`).
 */
export function localeChain(locale: string | undefined, defaultLocale: string): string[] {
  const chain: string[] = []
  if (locale !== undefined) {
    const parts = locale.split('-')
    for (let n = parts.length; n > 0; n--) chain.push(parts.slice(0, n).join('-'))
  }
  if (!chain.includes(defaultLocale)) chain.push(defaultLocale)
  return chain
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz })
    return true
  } catch {
    return false
  }
}

/** Why `value` is not a valid value of `type`, or undefined when it is. */
export function valueProblem(type: VariableType, value: unknown): string | undefined {
  switch (type) {
    case 'string':
      return typeof value === 'string' ? undefined : 'expected a string'
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'expected a number'
    case 'date':
      return typeof value === 'string' &&
        (DATE_ONLY.test(value) || DATE_TIME.test(value)) &&
        !Number.isNaN(Date.parse(value))
        ? undefined
        : 'expected an ISO 8601 date (2026-03-05) or date-time (2026-03-05T14:30:00Z)'
    case 'currency': {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        return 'expected { "amount": number, "currency": "ISO 4217 code" }'
      const v = value as Record<string, unknown>
      const keys = Object.keys(v)
      if (
        keys.length !== 2 ||
        typeof v.amount !== 'number' ||
        !Number.isFinite(v.amount) ||
        typeof v.currency !== 'string' ||
        !CURRENCY.test(v.currency)
      )
        return 'expected { "amount": number, "currency": "ISO 4217 code" }'
      return undefined
    }
  }
}

/**
 * Checks a template definition: the variable declarations (names, types, defaults of the
 * declared type, a date's time zone) and that every variable the body references is declared.
 */
export function checkDefinition(
  body: string,
  variables: unknown,
): Check<{ compiled: Compiled; decls: VariableDecls }> {
  const c = compile(body)
  if (!c.ok) return c
  const decls: Record<string, VariableDecl> = {}
  const raw = (variables ?? {}) as Record<string, unknown>
  const names = Object.keys(raw)
  if (names.length > MAX_VARIABLES)
    return bad({ field: 'variables', reason: `at most ${MAX_VARIABLES} variables` })
  for (const name of names) {
    const field = `variables.${name}`
    if (!VARIABLE_NAME.test(name))
      return bad({
        field,
        reason: 'a name is a letter or _ then letters, digits or _ (64 at most)',
      })
    const d = raw[name] as Record<string, unknown>
    const type = d.type as VariableType
    if (!VARIABLE_TYPES.includes(type)) return bad({ field, reason: 'unknown type' })
    if (d.timeZone !== undefined) {
      if (type !== 'date') return bad({ field, reason: 'timeZone applies to date variables only' })
      if (typeof d.timeZone !== 'string' || !isTimeZone(d.timeZone))
        return bad({
          field,
          reason: 'timeZone must be an IANA time zone such as America/Sao_Paulo',
        })
    }
    if ('default' in d) {
      const problem = valueProblem(type, d.default)
      if (problem) return bad({ field: `${field}.default`, reason: problem })
    }
    decls[name] = {
      type,
      ...('default' in d ? { default: d.default } : {}),
      ...(d.timeZone !== undefined ? { timeZone: d.timeZone } : {}),
    }
  }
  const undeclared = c.value.references.filter((r) => !(r in decls))
  if (undeclared.length > 0)
    return bad({ field: 'body', reason: 'the body uses undeclared variables', undeclared })
  return { ok: true, value: { compiled: c.value, decls } }
}

/** Intl formatters by locale and options: building one costs far more than using it. */
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>()
function formatter<T extends Intl.NumberFormat | Intl.DateTimeFormat>(
  key: string,
  make: () => T,
): T {
  let f = formatters.get(key)
  if (f === undefined) {
    if (formatters.size > 1_000) formatters.clear()
    formatters.set(key, (f = make()))
  }
  return f as T
}

/**
 * A value as the text it renders to in `locale`: strings as they are; numbers with the
 * locale's separators; dates by Intl.DateTimeFormat (a date alone as a date, a date-time with
 * its time, in the declared time zone or UTC); currency amounts by Intl.NumberFormat.
 */
export function formatValue(decl: VariableDecl, value: unknown, locale: string): string {
  switch (decl.type) {
    case 'string':
      return value as string
    case 'number':
      return formatter(
        `n|${locale}`,
        () => new Intl.NumberFormat(locale, { maximumFractionDigits: 20 }),
      ).format(value as number)
    case 'date': {
      const s = value as string
      const dateOnly = DATE_ONLY.test(s)
      const tz = dateOnly ? 'UTC' : (decl.timeZone ?? 'UTC')
      const f = formatter(`d|${locale}|${dateOnly ? 'd' : 't'}|${tz}`, () =>
        dateOnly
          ? new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: tz })
          : new Intl.DateTimeFormat(locale, {
              dateStyle: 'medium',
              timeStyle: 'short',
              timeZone: tz,
            }),
      )
      return f.format(new Date(dateOnly ? `${s}T00:00:00Z` : s))
    }
    case 'currency': {
      const c = value as CurrencyValue
      return formatter(
        `c|${locale}|${c.currency}`,
        () => new Intl.NumberFormat(locale, { style: 'currency', currency: c.currency }),
      ).format(c.amount)
    }
  }
}

/** Variables of a send checked against the declarations. */
export interface VariableReport {
  /** Declared without a default and not given. */
  missing: string[]
  /** Given but not declared. */
  undeclared: string[]
  /** Given with a value not of the declared type. */
  invalid: { name: string; reason: string }[]
}

/**
 * The scope a body renders with: each declared variable formatted for `locale`, its default
 * where not given. Problems are reported together; `forgiving` (preview) leaves a missing
 * variable as its `{{ name }}` text instead.
 */
export function scopeOf(
  decls: VariableDecls,
  given: Readonly<Record<string, unknown>>,
  locale: string,
  forgiving = false,
): { scope: Record<string, string>; report: VariableReport } {
  const report: VariableReport = { missing: [], undeclared: [], invalid: [] }
  const scope: Record<string, string> = {}
  for (const name in given) if (!Object.hasOwn(decls, name)) report.undeclared.push(name)
  for (const name in decls) {
    const decl = decls[name] as VariableDecl
    let value = Object.hasOwn(given, name) ? given[name] : undefined
    if (value === undefined || value === null) value = decl.default
    if (value === undefined) {
      report.missing.push(name)
      if (forgiving) scope[name] = `{{ ${name} }}`
      continue
    }
    const problem = valueProblem(decl.type, value)
    if (problem) {
      report.invalid.push({ name, reason: problem })
      if (forgiving) scope[name] = `{{ ${name} }}`
      continue
    }
    scope[name] = formatValue(decl, value, locale)
  }
  return { scope, report }
}

export const reportIsClean = (r: VariableReport): boolean =>
  r.missing.length === 0 && r.undeclared.length === 0 && r.invalid.length === 0

/** Renders a parsed body with a checked scope; a failure at render is `template_render_failed`. */
export function renderCompiled(c: Compiled, scope: Record<string, string>): Check<string> {
  try {
    return { ok: true, value: liquid.renderSync(c.templates, scope) as string }
  } catch (err) {
    return {
      ok: false,
      error: errors.template_render_failed,
      details: { reason: (err as Error).message.split('\n')[0] ?? 'render error' },
    }
  }
}

/**
 * Renders a body for a send: every declared variable must be given (or have a default) with a
 * value of its type, and nothing undeclared may be given, else `template_variables_invalid`
 * with `{ missing, undeclared, invalid? }`.
 */
export function renderForSend(
  c: Compiled,
  decls: VariableDecls,
  given: Readonly<Record<string, unknown>>,
  locale: string,
): Check<string> {
  const { scope, report } = scopeOf(decls, given, locale)
  if (!reportIsClean(report)) {
    return {
      ok: false,
      error: errors.template_variables_invalid,
      details: {
        missing: report.missing,
        undeclared: report.undeclared,
        ...(report.invalid.length > 0 ? { invalid: report.invalid } : {}),
      },
    }
  }
  return renderCompiled(c, scope)
}
