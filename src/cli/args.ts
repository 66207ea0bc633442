import { parseArgs } from 'node:util'

export class CliUsageError extends Error {
  override readonly name = 'CliUsageError'
}

type ParseOptions = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>

export function parse(args: string[], options: ParseOptions) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new CliUsageError((err as Error).message)
  }
}
