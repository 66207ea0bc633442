import { AppError, errors } from '../domain/errors.js'

/**
 * Page cursors over a table with serial ids, opaque to clients: the tag letter (one per list,
 * so a cursor of one list is refused by another) and the id the next page starts before.
 */
export const serialCursor = {
  /** The id a cursor names, undefined without one; `invalid_cursor` when it is not this list's. */
  decode(cursor: string | undefined, tag: string): number | undefined {
    if (cursor === undefined) return undefined
    const raw = Buffer.from(cursor, 'base64url').toString('utf8')
    if (raw[0] !== tag || !/^[1-9][0-9]{0,15}$/.test(raw.slice(1))) {
      throw new AppError(errors.invalid_cursor)
    }
    return Number(raw.slice(1))
  },
  /** The cursor of the page after `last` when the query found more than a page, else null. */
  next(last: { readonly id: number } | undefined, more: boolean, tag: string): string | null {
    return more && last ? Buffer.from(`${tag}${last.id}`).toString('base64url') : null
  },
}
