/**
 * The text of a verification SMS. It is rendered once with a placeholder where the code goes,
 * so the same rendering gives the text the phone receives (placeholder -> code) and the one
 * the message log keeps (placeholder -> one `*` per digit, the same length and segments).
 */

/** Stands for the code in a rendered text; no template or locale text contains it. */
export const CODE_PLACEHOLDER = '\u2063CODE\u2063'

/** What a named template is rendered with. */
export interface VerifyTemplateVariables {
  readonly code: string
  /** Minutes until the code expires (rounded up). */
  readonly minutes: number
}

/**
 * Named templates (the templates module, wired at composition): the text of `name` in
 * `locale` (with its fallbacks), or null when no such template exists.
 */
export interface VerifyTemplates {
  render(
    name: string,
    locale: string | undefined,
    variables: VerifyTemplateVariables,
  ): Promise<string | null> | string | null
}

type Phrase = (app: string, code: string, minutes: number) => string

/** The default texts: no digits but the code and the minutes (at most 60: two digits). */
export const DEFAULT_TEXTS: Readonly<Record<string, Phrase>> = {
  en: (app, code, n) =>
    `Your ${app} verification code is ${code}. It expires in ${n} ${n === 1 ? 'minute' : 'minutes'}.`,
  es: (app, code, n) =>
    `Tu código de verificación de ${app} es ${code}. Caduca en ${n} ${n === 1 ? 'minuto' : 'minutos'}.`,
  fr: (app, code, n) =>
    `Votre code de vérification ${app} est ${code}. Il expire dans ${n} ${n === 1 ? 'minute' : 'minutes'}.`,
  de: (app, code, n) =>
    `Ihr ${app} Bestätigungscode lautet ${code}. Er läuft in ${n} ${n === 1 ? 'Minute' : 'Minuten'} ab.`,
  pt: (app, code, n) =>
    `Seu código de verificação ${app} é ${code}. Ele expira em ${n} ${n === 1 ? 'minuto' : 'minutos'}.`,
}

/** `pt-BR` -> `pt`; a language without a default text -> `en`. */
export function defaultLocale(locale: string | undefined): string {
  const lang = (locale ?? 'en').toLowerCase().split(/[-_]/)[0] ?? 'en'
  return lang in DEFAULT_TEXTS ? lang : 'en'
}

export const minutesOf = (seconds: number): number => Math.max(1, Math.ceil(seconds / 60))

/** The default text with the placeholder for the code. */
export function defaultText(app: string, locale: string | undefined, seconds: number): string {
  const phrase = DEFAULT_TEXTS[defaultLocale(locale)] as Phrase
  return phrase(app, CODE_PLACEHOLDER, minutesOf(seconds))
}

/** Whether a rendered text holds the placeholder exactly once (where the code goes). */
export function holdsCodeOnce(text: string): boolean {
  const at = text.indexOf(CODE_PLACEHOLDER)
  return at >= 0 && text.indexOf(CODE_PLACEHOLDER, at + 1) < 0
}

/** The text the phone receives. */
export const withCode = (text: string, code: string): string => text.replace(CODE_PLACEHOLDER, code)

/** The text the message log keeps: the code as `*`, one per digit. */
export const redacted = (text: string, length: number): string =>
  text.replace(CODE_PLACEHOLDER, '*'.repeat(length))

/** The operator's app name must not add a run of 4 or more digits to the default text. */
export const APP_NAME_DIGITS = /\d{4,}/
