import { AppError } from '../domain/errors.js'
import type { VerifyTemplates } from '../domain/verify/texts.js'
import type { TemplateStore } from './templates.js'

/**
 * Verify's named templates, rendered by the templates module (same locale fallback, versions
 * and variable checks as a send). A Verify template declares `code` and may declare
 * `minutes`: one that leaves `minutes` out is rendered without it.
 */
export function verifyTemplates(templates: TemplateStore): VerifyTemplates {
  return {
    async render(name, locale, variables) {
      try {
        return (await templates.render(name, locale, { ...variables })).text
      } catch (err) {
        const undeclared = undeclaredOf(err)
        if (undeclared?.length === 1 && undeclared[0] === 'minutes') {
          return (await templates.render(name, locale, { code: variables.code })).text
        }
        throw err
      }
    },
  }
}

/** The undeclared variables a `template_variables_invalid` error names (and nothing missing). */
function undeclaredOf(err: unknown): readonly unknown[] | undefined {
  if (!(err instanceof AppError) || err.code !== 'template_variables_invalid') return undefined
  const d = err.details as { missing?: unknown[]; undeclared?: unknown[] } | undefined
  if (d?.missing && d.missing.length > 0) return undefined
  return d?.undeclared
}
