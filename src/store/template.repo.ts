import type { Kysely } from 'kysely'
import type { Executor, TxProgram } from './executor.js'
import { rows, run } from './executor.js'
import type { Database, TemplateRow, TemplateVersionRow } from './schema.js'

/** A template with every version (one read: what the template cache holds). */
export interface TemplateWithVersions {
  readonly template: TemplateRow
  /** Every locale's versions, oldest first. */
  readonly versions: readonly TemplateVersionRow[]
}

/** One row of the template list. */
export interface TemplateSummary extends TemplateRow {
  /** Each locale's newest version number. */
  readonly locales: readonly { locale: string; version: number }[]
}

/**
 * Templates and their immutable versions (migration 0012_templates). Creating a version is a
 * transaction program (the version number is the locale's newest plus one); reads are single
 * statements.
 */
export class TemplateRepo {
  constructor(
    private readonly kysely: Kysely<Database>,
    private readonly exec: Executor,
  ) {}

  /**
   * Adds the next version of `name` in `locale` (1 for a new locale), creating the template
   * with `locale` as its default when it is new, and restoring it when archived. On PostgreSQL
   * the template's row is locked first, so two creators number their versions one after the
   * other; SQLite has one writer.
   */
  *createVersion(v: Omit<TemplateVersionRow, 'version'>): TxProgram<{
    version: TemplateVersionRow
    defaultLocale: string
  }> {
    yield run(
      'INSERT INTO templates (name, default_locale, archived_at, created_at, updated_at) VALUES (?, ?, NULL, ?, ?) ON CONFLICT (name) DO NOTHING',
      [v.name, v.locale, v.created_at, v.created_at],
    )
    const lock = this.exec.dialect === 'postgres' ? ' FOR UPDATE' : ''
    const [t] = (yield rows(`SELECT default_locale FROM templates WHERE name = ?${lock}`, [
      v.name,
    ])) as { default_locale: string }[]
    const [max] = (yield rows(
      'SELECT MAX(version) AS v FROM template_versions WHERE name = ? AND locale = ?',
      [v.name, v.locale],
    )) as { v: number | string | null }[]
    const version = Number(max?.v ?? 0) + 1
    yield run(
      'INSERT INTO template_versions (name, locale, version, body, variables, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [v.name, v.locale, version, v.body, v.variables, v.created_at],
    )
    yield run('UPDATE templates SET archived_at = NULL, updated_at = ? WHERE name = ?', [
      v.created_at,
      v.name,
    ])
    return { version: { ...v, version }, defaultLocale: t?.default_locale ?? v.locale }
  }

  /** Archives a template; false when there is none of this name. */
  *archive(name: string, at: number): TxProgram<boolean> {
    const n = (yield run(
      'UPDATE templates SET archived_at = COALESCE(archived_at, ?), updated_at = ? WHERE name = ?',
      [at, at, name],
    )) as number
    return n > 0
  }

  async get(name: string): Promise<TemplateWithVersions | undefined> {
    const template = await this.kysely
      .selectFrom('templates')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst()
    if (!template) return undefined
    const versions = await this.kysely
      .selectFrom('template_versions')
      .selectAll()
      .where('name', '=', name)
      .orderBy('locale')
      .orderBy('version')
      .execute()
    return {
      template: normaliseTemplate(template),
      versions: versions.map((r) => ({
        ...r,
        version: Number(r.version),
        created_at: Number(r.created_at),
      })),
    }
  }

  /** A page of templates by name, after `afterName`, with each locale's newest version. */
  async list(o: {
    afterName?: string | undefined
    archived?: boolean | undefined
    limit: number
  }): Promise<TemplateSummary[]> {
    let q = this.kysely.selectFrom('templates').selectAll().orderBy('name').limit(o.limit)
    if (o.afterName !== undefined) q = q.where('name', '>', o.afterName)
    if (o.archived === true) q = q.where('archived_at', 'is not', null)
    if (o.archived === false) q = q.where('archived_at', 'is', null)
    const templates = (await q.execute()).map(normaliseTemplate)
    if (templates.length === 0) return []
    const latest = await this.kysely
      .selectFrom('template_versions')
      .select(['name', 'locale', (eb) => eb.fn.max('version').as('version')])
      .where(
        'name',
        'in',
        templates.map((t) => t.name),
      )
      .groupBy(['name', 'locale'])
      .orderBy('locale')
      .execute()
    return templates.map((t) => ({
      ...t,
      locales: latest
        .filter((l) => l.name === t.name)
        .map((l) => ({ locale: l.locale, version: Number(l.version) })),
    }))
  }
}

function normaliseTemplate(t: TemplateRow): TemplateRow {
  return {
    ...t,
    archived_at: t.archived_at === null ? null : Number(t.archived_at),
    created_at: Number(t.created_at),
    updated_at: Number(t.updated_at),
  }
}
