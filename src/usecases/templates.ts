/**
 * The templates use case (docs/templates.md): versions created and archived through the store,
 * and an in-memory cache that intake renders from, so a batch costs no query per message.
 *
 * Freshness: an entry (a template with all its versions, or "no such template") is read again
 * once it is older than `ttlMs` (default 1 s). A version created or an archive made through
 * this process replaces its entry at once; another process of a cluster (or the other thread
 * of an embedded server, which does not render) sees it within the TTL.
 */
import { AppError, errors } from '../domain/errors.js'
import type { TemplateUse } from '../domain/messages/prepare.js'
import {
  canonicalLocale,
  checkDefinition,
  compile,
  localeChain,
  renderForSend,
  TEMPLATE_NAME,
  type Check,
  type Compiled,
  type VariableDecls,
} from '../domain/templates/template.js'
import type { Store } from '../store/store.js'
import type { TemplateRow, TemplateVersionRow } from '../store/schema.js'
import type { TemplateSummary, TemplateWithVersions } from '../store/template.repo.js'

export const TEMPLATE_CACHE_TTL_MS = 1_000

/** `validation_failed` details for a locale that is not BCP 47 (a list, as the schema's). */
export const BAD_LOCALE = [
  { in: 'body', path: '/locale', message: 'must be a BCP 47 language tag (pt-BR, pt, en)' },
] as unknown as Record<string, unknown>

/** One version, its body parsed on first use. */
export interface CachedVersion {
  readonly row: TemplateVersionRow
  readonly decls: VariableDecls
  compiled?: Compiled
}

/** A template as cached: its versions per locale, newest last. */
export interface CachedTemplate {
  readonly template: TemplateRow
  readonly byLocale: ReadonlyMap<string, readonly CachedVersion[]>
}

/** The version a send resolved to, ready to render. */
export interface ResolvedVersion {
  readonly use: TemplateUse
  readonly compiled: Compiled
  readonly decls: VariableDecls
}

/** Templates loaded for one request: a name maps to its template, or null when none exists. */
export type TemplateSnapshot = ReadonlyMap<string, CachedTemplate | null>

interface Entry {
  readonly at: number
  readonly value: Promise<CachedTemplate | null>
}

/** A created version, as the API answers it. */
export interface CreatedVersion {
  readonly name: string
  readonly defaultLocale: string
  readonly row: TemplateVersionRow
  readonly decls: VariableDecls
}

export interface TemplateInput {
  readonly name: string
  readonly body: string
  readonly locale?: string | undefined
  readonly variables?: Record<string, unknown> | undefined
}

/** The default locale of a template created without one. */
export const DEFAULT_TEMPLATE_LOCALE = 'en'

function toCached(t: TemplateWithVersions): CachedTemplate {
  const byLocale = new Map<string, CachedVersion[]>()
  for (const row of t.versions) {
    let list = byLocale.get(row.locale)
    if (!list) byLocale.set(row.locale, (list = []))
    list.push({ row, decls: JSON.parse(row.variables) as VariableDecls })
  }
  for (const list of byLocale.values()) list.sort((a, b) => a.row.version - b.row.version)
  return { template: t.template, byLocale }
}

export class TemplateStore {
  readonly #cache = new Map<string, Entry>()
  readonly #ttlMs: number

  constructor(
    private readonly deps: {
      readonly store: Pick<Store, 'tx' | 'templates'>
      readonly now: () => number
      /** Cache freshness (default TEMPLATE_CACHE_TTL_MS). */
      readonly ttlMs?: number
    },
  ) {
    this.#ttlMs = deps.ttlMs ?? TEMPLATE_CACHE_TTL_MS
  }

  /** Creates the next version of a template in a locale (see docs/templates.md). */
  async create(input: TemplateInput): Promise<CreatedVersion> {
    if (!TEMPLATE_NAME.test(input.name))
      throw new AppError(errors.template_invalid, { field: 'name', reason: 'not a valid name' })
    let locale: string | undefined
    if (input.locale !== undefined) {
      locale = canonicalLocale(input.locale)
      if (locale === undefined)
        throw new AppError(errors.template_invalid, {
          field: 'locale',
          reason: 'not a BCP 47 language tag (pt-BR, pt, en)',
        })
    }
    const def = checkDefinition(input.body, input.variables)
    if (!def.ok) throw new AppError(def.error, def.details)
    // Without a locale: the template's default (or `en` for a new template).
    if (locale === undefined) {
      const existing = await this.deps.store.templates.get(input.name)
      locale = existing?.template.default_locale ?? DEFAULT_TEMPLATE_LOCALE
    }
    const now = this.deps.now()
    const variables = JSON.stringify(def.value.decls)
    const name = input.name
    const at = locale
    const r = await this.deps.store.tx(() =>
      this.deps.store.templates.createVersion({
        name,
        locale: at,
        body: input.body,
        variables,
        created_at: now,
      }),
    )
    this.#cache.delete(name)
    return { name, defaultLocale: r.defaultLocale, row: r.version, decls: def.value.decls }
  }

  /** Archives a template: sends naming it are refused with `template_archived`. */
  async archive(name: string): Promise<void> {
    const found = await this.deps.store.tx(() =>
      this.deps.store.templates.archive(name, this.deps.now()),
    )
    this.#cache.delete(name)
    if (!found) throw new AppError(errors.template_not_found, { template: name })
  }

  get(name: string): Promise<TemplateWithVersions | undefined> {
    return this.deps.store.templates.get(name)
  }

  list(o: {
    afterName?: string | undefined
    archived?: boolean | undefined
    limit: number
  }): Promise<TemplateSummary[]> {
    return this.deps.store.templates.list(o)
  }

  /** The cached template of this name (null: none), read again when older than the TTL. */
  #entry(name: string): Promise<CachedTemplate | null> {
    const now = this.deps.now()
    const e = this.#cache.get(name)
    if (e && now - e.at < this.#ttlMs) return e.value
    const value = this.deps.store.templates.get(name).then((t) => (t ? toCached(t) : null))
    const entry = { at: now, value }
    this.#cache.set(name, entry)
    // A failed read is not cached.
    value.catch(() => {
      if (this.#cache.get(name) === entry) this.#cache.delete(name)
    })
    if (this.#cache.size > 10_000) {
      const oldest = this.#cache.keys().next().value
      if (oldest !== undefined) this.#cache.delete(oldest)
    }
    return value
  }

  /** Loads the named templates (from the cache where fresh): one read per name at most. */
  async load(names: Iterable<string>): Promise<TemplateSnapshot> {
    const unique = [...new Set(names)]
    const values = await Promise.all(unique.map((n) => this.#entry(n)))
    return new Map(unique.map((n, i) => [n, values[i] ?? null]))
  }

  /**
   * The version a send uses: in `locale` (else its language, else the template's default
   * locale), the newest unless `version` names one. Synchronous: intake resolves from a
   * snapshot loaded before.
   */
  static resolve(
    snapshot: TemplateSnapshot,
    name: string,
    locale: string | undefined,
    version: number | undefined,
  ): Check<ResolvedVersion> {
    const t = snapshot.get(name)
    if (!t) return { ok: false, error: errors.template_not_found, details: { template: name } }
    if (t.template.archived_at !== null)
      return { ok: false, error: errors.template_archived, details: { template: name } }
    let requested: string | undefined
    if (locale !== undefined) {
      requested = canonicalLocale(locale)
      if (requested === undefined)
        return {
          ok: false,
          error: errors.validation_failed,
          details: BAD_LOCALE,
        }
    }
    let chosen: readonly CachedVersion[] | undefined
    let at = t.template.default_locale
    for (const l of localeChain(requested, t.template.default_locale)) {
      chosen = t.byLocale.get(l)
      if (chosen && chosen.length > 0) {
        at = l
        break
      }
    }
    const v =
      version === undefined
        ? chosen?.[chosen.length - 1]
        : chosen?.find((c) => c.row.version === version)
    if (!v) {
      return {
        ok: false,
        error:
          version === undefined ? errors.template_not_found : errors.template_version_not_found,
        details: { template: name, locale: at, ...(version !== undefined ? { version } : {}) },
      }
    }
    if (!v.compiled) {
      const c = compile(v.row.body)
      // Stored bodies were checked when created; a failure here means a changed engine.
      if (!c.ok) return c
      v.compiled = c.value
    }
    return {
      ok: true,
      value: {
        use: { name, version: v.row.version, locale: at },
        compiled: v.compiled,
        decls: v.decls,
      },
    }
  }

  /**
   * Renders a template for a send (Verify and other callers): resolves the locale and version
   * as a message send does and checks the variables. Throws AppError `template_not_found`,
   * `template_archived`, `template_version_not_found`, `template_variables_invalid`,
   * `template_render_failed` or `validation_failed` (a bad locale).
   */
  async render(
    name: string,
    locale: string | undefined,
    variables: Record<string, unknown>,
    version?: number,
  ): Promise<{ text: string; version: number; locale: string }> {
    const snapshot = await this.load([name])
    const r = TemplateStore.resolve(snapshot, name, locale, version)
    if (!r.ok) throw new AppError(r.error, r.details)
    const text = renderForSend(r.value.compiled, r.value.decls, variables, r.value.use.locale)
    if (!text.ok) throw new AppError(text.error, text.details)
    return { text: text.value, version: r.value.use.version, locale: r.value.use.locale }
  }
}
