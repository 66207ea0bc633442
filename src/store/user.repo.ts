import type { Kysely } from 'kysely'
import type { Database, SessionRow, UserRow } from './schema.js'

/** Dashboard users and their sessions (simple reads and writes, no transaction programs). */
export class UserRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async count(): Promise<number> {
    const r = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
    return Number(r.n)
  }

  /** Inserts a user; false when the e-mail is taken. */
  async insert(row: UserRow): Promise<boolean> {
    await this.db
      .insertInto('users')
      .values(row)
      .onConflict((oc) => oc.column('email').doNothing())
      .execute()
    return (await this.byEmail(row.email))?.id === row.id
  }

  async byEmail(email: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst()
  }

  async byId(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
  }

  async insertSession(row: SessionRow): Promise<void> {
    await this.db.insertInto('sessions').values(row).execute()
  }

  /** A session with its user, whatever its state (the caller checks expiry and revocation). */
  async session(id: string): Promise<{ session: SessionRow; user: UserRow } | undefined> {
    const session = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    if (!session) return undefined
    const user = await this.byId(session.user_id)
    return user ? { session, user } : undefined
  }

  async touchSession(id: string, now: number): Promise<void> {
    await this.db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', id).execute()
  }

  async revokeSession(id: string, now: number): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute()
  }

  /** Revokes every live session of a user; returns how many. */
  async revokeUserSessions(userId: string, now: number): Promise<number> {
    const res = await this.db
      .updateTable('sessions')
      .set({ revoked_at: now })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst()
    return Number(res.numUpdatedRows)
  }
}
