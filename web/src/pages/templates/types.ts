/** The templates API's answers (docs/templates.md). */

export type VariableType = 'string' | 'number' | 'date' | 'currency'

export interface VariableDecl {
  type: VariableType
  default?: unknown
  timeZone?: string
}
export type VariableDecls = Record<string, VariableDecl>

export interface TemplateSummary {
  name: string
  defaultLocale: string
  locales: { locale: string; latestVersion: number }[]
  archived: boolean
  createdAt: string
  updatedAt: string
}

export interface TemplateVersionEntry {
  version: number
  body: string
  variables: VariableDecls
  createdAt: string
}

export interface Template {
  name: string
  defaultLocale: string
  archived: boolean
  archivedAt: string | null
  createdAt: string
  updatedAt: string
  locales: { locale: string; versions: TemplateVersionEntry[] }[]
}

export interface TemplateVersion {
  name: string
  locale: string
  version: number
  defaultLocale: string
  body: string
  variables: VariableDecls
  createdAt: string
}

export interface Preview {
  text: string
  encoding: 'GSM-7' | 'UCS-2'
  segments: number
  charactersLeft: number
  nonGsmCharacters: { char: string; replacement: string | null }[]
  ucs2Characters: string[]
  cost: { country: string; provider: string; amount: number; currency: string }[]
  missing?: string[]
  undeclared?: string[]
  invalid?: { name: string; reason: string }[]
}
