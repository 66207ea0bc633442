import type { Kysely } from 'kysely'
import { rows, run, type TxProgram } from './executor.js'
import type { Database, SessionRow, UserRow } from './schema.js'

/** A user as listed: the row and when it last signed in (its newest session), or null. */
export type UserListRow = UserRow & { last_sign_in_at: number | null }

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

  /** Every user (or the one with `id`), oldest first, with the time of its newest session. */
  async list(id?: string): Promise<UserListRow[]> {
    let q = this.db
      .selectFrom('users')
      .selectAll('users')
      .select((eb) =>
        eb
          .selectFrom('sessions')
          .select((s) => s.fn.max('sessions.created_at').as('m'))
          .whereRef('sessions.user_id', '=', 'users.id')
          .as('last_sign_in_at'),
      )
      .orderBy('users.created_at')
      .orderBy('users.id')
    if (id !== undefined) q = q.where('users.id', '=', id)
    const found = await q.execute()
    return found.map((r) => ({
      ...r,
      last_sign_in_at: r.last_sign_in_at === null ? null : Number(r.last_sign_in_at),
    }))
  }

  /** Inserts a user in a transaction; false when the e-mail is taken. */
  *insertTx(row: UserRow): TxProgram<boolean> {
    const changed = (yield run(
      'INSERT INTO users (id, email, role, password_hash, created_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING',
      [row.id, row.email, row.role, row.password_hash, row.created_at, row.disabled_at],
    )) as number
    return changed > 0
  }

  *byIdTx(id: string): TxProgram<UserRow | undefined> {
    const found = (yield rows('SELECT * FROM users WHERE id = ?', [id])) as UserRow[]
    const u = found[0]
    if (!u) return undefined
    // PostgreSQL answers BIGINT as a number (db.ts); SQLite already does.
    return {
      ...u,
      created_at: Number(u.created_at),
      disabled_at: u.disabled_at === null ? null : Number(u.disabled_at),
    }
  }

  /**
   * Active admins other than `exceptId`, after locking every active admin row (a no-op
   * update): on PostgreSQL two concurrent demotions then run one after the other, so the
   * second sees the first's result and the last admin cannot be removed by a race. SQLite
   * transactions are serialized already.
   */
  *otherActiveAdminsTx(exceptId: string): TxProgram<number> {
    yield run("UPDATE users SET role = role WHERE role = 'admin' AND disabled_at IS NULL")
    const r = (yield rows(
      "SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id <> ?",
      [exceptId],
    )) as { n: number | string }[]
    return Number(r[0]?.n ?? 0)
  }

  *setRoleTx(id: string, role: string): TxProgram<void> {
    yield run('UPDATE users SET role = ? WHERE id = ?', [role, id])
  }

  *setDisabledTx(id: string, at: number | null): TxProgram<void> {
    yield run('UPDATE users SET disabled_at = ? WHERE id = ?', [at, id])
  }

  /** Revokes every live session of a user in a transaction; returns how many. */
  *revokeUserSessionsTx(userId: string, now: number): TxProgram<number> {
    return (yield run(
      'UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?',
      [now, userId, now],
    )) as number
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
