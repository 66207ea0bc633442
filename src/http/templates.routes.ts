import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { previewText } from '../domain/templates/preview.js'
import {
  canonicalLocale,
  checkDefinition,
  compile,
  reportIsClean,
  renderCompiled,
  scopeOf,
  VARIABLE_TYPES,
  type VariableDecls,
  type VariableReport,
} from '../domain/templates/template.js'
import type { TemplateVersionRow } from '../store/schema.js'
import { BAD_LOCALE, DEFAULT_TEMPLATE_LOCALE, TemplateStore } from '../usecases/templates.js'
import type { AppContext } from './context.js'
import { TEMPLATE_NAME_PATTERN, TemplateVariableValues } from './schemas.js'

const NO_NUL = '^[^\\u0000]*$'
const Time = Type.String({ format: 'date-time' })
const iso = (ms: number) => new Date(ms).toISOString()

const Name = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: TEMPLATE_NAME_PATTERN,
  description: 'Letters, digits, `_`, `-` and `.`, starting with a letter or digit',
})
const Locale = Type.String({
  minLength: 1,
  maxLength: 35,
  description: 'BCP 47 language tag: `pt-BR`, `pt`, `en`',
})

const VariableDeclSchema = Type.Object(
  {
    type: Type.Union(VARIABLE_TYPES.map((t) => Type.Literal(t))),
    default: Type.Optional(
      Type.Unknown({ description: 'A value of the declared type, used when a send gives none' }),
    ),
    timeZone: Type.Optional(
      Type.String({
        maxLength: 64,
        description: '`date` only: IANA time zone a date-time is shown in (default UTC)',
      }),
    ),
  },
  { additionalProperties: false },
)

export const TemplateVariableDecls = Type.Record(
  Type.String({ maxLength: 64 }),
  VariableDeclSchema,
  {
    $id: 'TemplateVariables',
    maxProperties: 50,
    propertyNames: { maxLength: 64 },
    description:
      'Declared variables by name: `{ "first_name": { "type": "string", "default"?: "there" } }`',
  },
)

const CreateTemplateBody = Type.Object(
  {
    name: Name,
    body: Type.String({
      minLength: 1,
      maxLength: 10_000,
      pattern: NO_NUL,
      description: 'Liquid text (no HTML escaping); every variable it uses must be declared',
    }),
    locale: Type.Optional(Locale),
    variables: Type.Optional(Type.Ref(TemplateVariableDecls)),
  },
  {
    $id: 'CreateTemplateRequest',
    additionalProperties: false,
    examples: [
      {
        name: 'welcome',
        locale: 'pt-BR',
        body: 'Olá {{ first_name }}, seu pedido chega em {{ eta }}.',
        variables: { first_name: { type: 'string' }, eta: { type: 'date' } },
      },
    ],
  },
)
type CreateTemplateBody = Static<typeof CreateTemplateBody>

const TemplateVersionView = Type.Object(
  {
    name: Type.String(),
    locale: Type.String(),
    version: Type.Integer({ description: 'Numbered per locale from 1' }),
    defaultLocale: Type.String({ description: "The template's default locale (its first one)" }),
    body: Type.String(),
    variables: Type.Ref(TemplateVariableDecls),
    createdAt: Time,
  },
  { $id: 'TemplateVersion' },
)

const TemplateSummaryView = Type.Object(
  {
    name: Type.String(),
    defaultLocale: Type.String(),
    locales: Type.Array(Type.Object({ locale: Type.String(), latestVersion: Type.Integer() }), {
      description: 'Each locale with its newest version',
    }),
    archived: Type.Boolean(),
    createdAt: Time,
    updatedAt: Time,
  },
  { $id: 'TemplateSummary' },
)

const TemplateView = Type.Object(
  {
    name: Type.String(),
    defaultLocale: Type.String(),
    archived: Type.Boolean(),
    archivedAt: Type.Union([Time, Type.Null()]),
    createdAt: Time,
    updatedAt: Time,
    locales: Type.Array(
      Type.Object({
        locale: Type.String(),
        versions: Type.Array(
          Type.Object({
            version: Type.Integer(),
            body: Type.String(),
            variables: Type.Ref(TemplateVariableDecls),
            createdAt: Time,
          }),
          { description: 'Newest first' },
        ),
      }),
    ),
  },
  { $id: 'Template' },
)

const PreviewBody = Type.Object(
  {
    template: Type.Optional(Name),
    body: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 10_000,
        pattern: NO_NUL,
        description: 'An unsaved body to preview instead of a saved template',
      }),
    ),
    declarations: Type.Optional(Type.Ref(TemplateVariableDecls)),
    variables: Type.Optional(Type.Ref(TemplateVariableValues)),
    locale: Type.Optional(Locale),
    templateVersion: Type.Optional(Type.Integer({ minimum: 1 })),
    smartEncoding: Type.Optional(
      Type.Boolean({ description: 'As the send would have it (default: SMART_ENCODING)' }),
    ),
  },
  {
    $id: 'TemplatePreviewRequest',
    additionalProperties: false,
    examples: [
      { template: 'welcome', locale: 'pt-BR', variables: { first_name: 'Ana', eta: '2026-03-05' } },
      { body: 'Hi {{ name }} “see you”', variables: { name: 'Ana' } },
    ],
  },
)
type PreviewBody = Static<typeof PreviewBody>

const PreviewView = Type.Object(
  {
    text: Type.String({ description: 'The rendered text (before smart encoding)' }),
    encoding: Type.Union([Type.Literal('GSM-7'), Type.Literal('UCS-2')]),
    segments: Type.Integer(),
    charactersLeft: Type.Integer({
      description: 'Plain characters that still fit before another segment is needed',
    }),
    nonGsmCharacters: Type.Array(
      Type.Object({
        char: Type.String(),
        replacement: Type.Union([Type.String(), Type.Null()], {
          description: 'What smart encoding sends instead; null: none (the text stays UCS-2)',
        }),
      }),
    ),
    ucs2Characters: Type.Array(Type.String(), {
      description:
        'The characters that make the message UCS-2 as sent: every one of `nonGsmCharacters` without smart encoding, those it cannot replace with it; empty for GSM-7',
    }),
    cost: Type.Array(
      Type.Object({
        country: Type.String({ description: 'ISO 3166-1 alpha-2, or `*` (any other)' }),
        provider: Type.String(),
        amount: Type.Number({ description: 'segments x the segment price' }),
        currency: Type.String(),
      }),
    ),
    missing: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Declared variables given no value: shown as `{{ name }}`; a send would fail',
      }),
    ),
    undeclared: Type.Optional(Type.Array(Type.String())),
    invalid: Type.Optional(Type.Array(Type.Object({ name: Type.String(), reason: Type.String() }))),
    template: Type.Optional(
      Type.Object({ name: Type.String(), version: Type.Integer(), locale: Type.String() }),
    ),
  },
  { $id: 'TemplatePreview' },
)

const ListTemplatesQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    archived: Type.Optional(
      Type.Boolean({ description: 'Only archived (true) or in use (false)' }),
    ),
  },
  { additionalProperties: false },
)
type ListTemplatesQuery = Static<typeof ListTemplatesQuery>

const NameParams = Type.Object({ name: Name })
type NameParams = Static<typeof NameParams>

export const templateSchemas = [
  TemplateVariableDecls,
  CreateTemplateBody,
  TemplateVersionView,
  TemplateSummaryView,
  TemplateView,
  PreviewBody,
  PreviewView,
]

const versionJson = (defaultLocale: string, r: TemplateVersionRow) => ({
  name: r.name,
  locale: r.locale,
  version: r.version,
  defaultLocale,
  body: r.body,
  variables: JSON.parse(r.variables) as VariableDecls,
  createdAt: iso(r.created_at),
})

/** Declarations for an unsaved body without any: each variable it uses typed by its value. */
function inferDecls(body: string, given: Record<string, unknown>): Record<string, unknown> {
  const c = compile(body)
  if (!c.ok) throw new AppError(c.error, c.details)
  const decls: Record<string, { type: string }> = {}
  for (const name of c.value.references) {
    const v = given[name]
    decls[name] = {
      type:
        typeof v === 'number'
          ? 'number'
          : typeof v === 'object' && v !== null
            ? 'currency'
            : 'string',
    }
  }
  return decls
}

export function templateRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'templates' | 'config'>,
): void {
  const prices = ctx.config.routing.prices

  app.post<{ Body: CreateTemplateBody }>(
    '/templates',
    {
      config: { scope: 'admin', idempotent: true },
      schema: {
        summary: 'Create a template version',
        description:
          'Adds version N+1 of the template in the locale (1 for a new locale; the first locale is the default). Versions never change.',
        tags: ['templates'],
        body: Type.Ref(CreateTemplateBody),
        response: { 201: Type.Ref(TemplateVersionView, { description: 'The new version' }) },
      },
    },
    async (req, reply) => {
      const r = await ctx.templates.create(req.body)
      return reply.code(201).send(versionJson(r.defaultLocale, r.row))
    },
  )

  app.get<{ Querystring: ListTemplatesQuery }>(
    '/templates',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: 'List templates by name',
        tags: ['templates'],
        querystring: ListTemplatesQuery,
        response: {
          200: Type.Object(
            {
              data: Type.Array(Type.Ref(TemplateSummaryView)),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            },
            { description: 'A page of templates; pass `nextCursor` as `cursor` for the next' },
          ),
        },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 50
      let afterName: string | undefined
      if (req.query.cursor !== undefined) {
        afterName = Buffer.from(req.query.cursor, 'base64url').toString('utf8')
        if (!new RegExp(TEMPLATE_NAME_PATTERN).test(afterName) || afterName.length > 64)
          throw new AppError(errors.invalid_cursor)
      }
      const rows = await ctx.templates.list({
        afterName,
        archived: req.query.archived,
        limit: limit + 1,
      })
      const page = rows.slice(0, limit)
      const last = page[page.length - 1]
      return {
        data: page.map((t) => ({
          name: t.name,
          defaultLocale: t.default_locale,
          locales: t.locales.map((l) => ({ locale: l.locale, latestVersion: l.version })),
          archived: t.archived_at !== null,
          createdAt: iso(t.created_at),
          updatedAt: iso(t.updated_at),
        })),
        nextCursor:
          rows.length > limit && last ? Buffer.from(last.name).toString('base64url') : null,
      }
    },
  )

  app.post<{ Body: PreviewBody }>(
    '/templates/preview',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: 'Preview a text: rendering, encoding, segments and cost',
        description:
          'A saved `template` (with `variables`, `locale`, `templateVersion`) or an unsaved `body`. Missing variables are shown as `{{ name }}` and listed in `missing` (a send would be refused).',
        tags: ['templates'],
        body: Type.Ref(PreviewBody),
        response: { 200: Type.Ref(PreviewView, { description: 'The preview' }) },
      },
    },
    async (req) => {
      const b = req.body
      const given = (b.variables ?? {}) as Record<string, unknown>
      let text: string
      let report: VariableReport
      let template: { name: string; version: number; locale: string } | undefined
      if ((b.template === undefined) === (b.body === undefined)) {
        throw new AppError(errors.validation_failed, [
          { in: 'body', path: '', message: 'must have exactly one of body and template' },
        ])
      }
      if (b.template !== undefined) {
        if (b.declarations !== undefined)
          throw new AppError(errors.validation_failed, [
            { in: 'body', path: '/declarations', message: 'only with an unsaved body' },
          ])
        const snapshot = await ctx.templates.load([b.template])
        const v = TemplateStore.resolve(snapshot, b.template, b.locale, b.templateVersion)
        if (!v.ok) throw new AppError(v.error, v.details)
        const s = scopeOf(v.value.decls, given, v.value.use.locale, true)
        report = s.report
        const r = renderCompiled(v.value.compiled, s.scope)
        if (!r.ok) throw new AppError(r.error, r.details)
        text = r.value
        template = v.value.use
      } else {
        const body = b.body as string
        let locale = DEFAULT_TEMPLATE_LOCALE
        if (b.locale !== undefined) {
          const l = canonicalLocale(b.locale)
          if (l === undefined) throw new AppError(errors.validation_failed, BAD_LOCALE)
          locale = l
        }
        const def = checkDefinition(body, b.declarations ?? inferDecls(body, given))
        if (!def.ok) throw new AppError(def.error, def.details)
        const s = scopeOf(def.value.decls, given, locale, true)
        report = s.report
        const r = renderCompiled(def.value.compiled, s.scope)
        if (!r.ok) throw new AppError(r.error, r.details)
        text = r.value
      }
      const smartEncoding = b.smartEncoding ?? ctx.config.messages.smartEncoding
      const p = previewText(text, { smartEncoding, prices })
      return {
        text,
        ...p,
        ucs2Characters:
          p.encoding === 'GSM-7'
            ? []
            : p.nonGsmCharacters
                .filter((c) => !smartEncoding || c.replacement === null)
                .map((c) => c.char),
        ...(reportIsClean(report)
          ? {}
          : {
              missing: report.missing,
              undeclared: report.undeclared,
              ...(report.invalid.length > 0 ? { invalid: report.invalid } : {}),
            }),
        ...(template ? { template } : {}),
      }
    },
  )

  app.get<{ Params: NameParams }>(
    '/templates/:name',
    {
      config: { scope: 'messages:read' },
      schema: {
        summary: 'Get a template: its locales and every version',
        tags: ['templates'],
        params: NameParams,
        response: { 200: Type.Ref(TemplateView, { description: 'The template' }) },
      },
    },
    async (req) => {
      const t = await ctx.templates.get(req.params.name)
      if (!t) throw new AppError(errors.template_not_found, { template: req.params.name })
      const locales = new Map<string, TemplateVersionRow[]>()
      for (const v of t.versions) {
        let list = locales.get(v.locale)
        if (!list) locales.set(v.locale, (list = []))
        list.push(v)
      }
      return {
        name: t.template.name,
        defaultLocale: t.template.default_locale,
        archived: t.template.archived_at !== null,
        archivedAt: t.template.archived_at === null ? null : iso(t.template.archived_at),
        createdAt: iso(t.template.created_at),
        updatedAt: iso(t.template.updated_at),
        locales: [...locales].map(([locale, versions]) => ({
          locale,
          versions: versions
            .sort((a, b) => b.version - a.version)
            .map((v) => ({
              version: v.version,
              body: v.body,
              variables: JSON.parse(v.variables) as VariableDecls,
              createdAt: iso(v.created_at),
            })),
        })),
      }
    },
  )

  app.delete<{ Params: NameParams }>(
    '/templates/:name',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Archive a template',
        description:
          'Sends naming it are refused with `template_archived`; its versions are kept. A new version restores it.',
        tags: ['templates'],
        params: NameParams,
        response: { 204: Type.Null({ description: 'Archived' }) },
      },
    },
    async (req, reply) => {
      await ctx.templates.archive(req.params.name)
      return reply.code(204).send()
    },
  )
}
