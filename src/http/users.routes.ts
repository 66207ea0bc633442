import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { AppError, errors } from '../domain/errors.js'
import { iso } from '../domain/messages/present.js'
import { ROLES } from '../domain/users/passwords.js'
import type { UserListRow } from '../store/user.repo.js'
import type { UserRow } from '../store/schema.js'
import { createUser, revokeSessions, updateUser } from '../usecases/users.js'
import type { AppContext } from './context.js'
import { IdParams } from './schemas.js'

const RoleSchema = Type.Union(
  ROLES.map((r) => Type.Literal(r)),
  { description: '`admin` (every scope), `agent` (read and send), `viewer` (read only)' },
)

const UserView = Type.Object(
  {
    id: Type.String(),
    email: Type.String({ description: 'Lower-cased; the first user is named `admin`' }),
    role: Type.String({ description: '`admin`, `agent` or `viewer`' }),
    createdAt: Type.String({ format: 'date-time' }),
    disabledAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'When the user was disabled (it cannot sign in), or null',
    }),
    lastSignInAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'When the user last signed in, or null if never',
    }),
    password: Type.Optional(
      Type.String({
        description:
          'Only in the answer to `POST /v1/users` without a `password`: the generated one, shown this once',
      }),
    ),
  },
  { $id: 'User' },
)

const CreateUserBody = Type.Object(
  {
    email: Type.String({
      minLength: 1,
      maxLength: 320,
      pattern: '^\\s*[^\\s\\u0000]+\\s*$',
      description: 'E-mail address (or user name) to sign in with; stored lower-cased',
    }),
    role: RoleSchema,
    password: Type.Optional(
      Type.String({
        minLength: 8,
        maxLength: 1024,
        pattern: '^[^\\u0000]*$',
        description: 'At least 8 characters; when absent one is generated and answered once',
      }),
    ),
  },
  {
    $id: 'CreateUserRequest',
    additionalProperties: false,
    examples: [{ email: 'ana@example.com', role: 'agent' }],
  },
)
type CreateUserBody = Static<typeof CreateUserBody>

const UpdateUserBody = Type.Object(
  {
    role: Type.Optional(RoleSchema),
    disabled: Type.Optional(
      Type.Boolean({
        description: '`true` disables the user and ends its sessions at once; `false` enables it',
      }),
    ),
  },
  {
    $id: 'UpdateUserRequest',
    additionalProperties: false,
    minProperties: 1,
    examples: [{ role: 'viewer' }],
  },
)
type UpdateUserBody = Static<typeof UpdateUserBody>

export const userSchemas = [UserView, CreateUserBody, UpdateUserBody]

/** A user as the API shows it: never its password hash. */
const present = (u: UserRow | UserListRow) => ({
  id: u.id,
  email: u.email,
  role: u.role,
  createdAt: new Date(u.created_at).toISOString(),
  disabledAt: iso(u.disabled_at),
  lastSignInAt: 'last_sign_in_at' in u ? iso(u.last_sign_in_at) : null,
})

/** Dashboard users (docs/dashboard-auth.md): list, create, change, sign out; admin only. */
export function userRoutes(app: FastifyInstance, ctx: Pick<AppContext, 'store' | 'now'>): void {
  app.get(
    '/users',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'List dashboard users (never their passwords)',
        tags: ['users'],
        response: {
          200: Type.Object(
            { data: Type.Array(Type.Ref(UserView)) },
            { description: 'Every user, oldest first, disabled ones included' },
          ),
        },
      },
    },
    async () => ({ data: (await ctx.store.users.list()).map(present) }),
  )

  app.post<{ Body: CreateUserBody }>(
    '/users',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Create a dashboard user',
        description:
          'Without `password`, one is generated and answered once as `password`; it cannot be read again.',
        tags: ['users'],
        body: Type.Ref(CreateUserBody),
        response: {
          201: Type.Ref(UserView, { description: 'The new user' }),
          409: Type.Ref('Error', {
            description: 'A user with this e-mail address exists (`email_taken`)',
          }),
        },
      },
    },
    async (req, reply) => {
      const created = await createUser(
        { store: ctx.store, now: ctx.now, actor: req.apiKeyId },
        req.body.email,
        req.body.role,
        req.body.password,
      )
      if (!created) throw new AppError(errors.email_taken)
      void reply.header('cache-control', 'no-store')
      const generated = req.body.password === undefined ? { password: created.password } : {}
      return reply.code(201).send({ ...present(created.row), ...generated })
    },
  )

  app.patch<{ Params: IdParams; Body: UpdateUserBody }>(
    '/users/:id',
    {
      config: { scope: 'admin' },
      schema: {
        summary: "Change a dashboard user's role, or disable or enable it",
        description:
          'Disabling ends every session of the user at once. The last active admin cannot be demoted or disabled (`last_admin`).',
        tags: ['users'],
        params: IdParams,
        body: Type.Ref(UpdateUserBody),
        response: {
          200: Type.Ref(UserView, { description: 'The user as changed' }),
          409: Type.Ref('Error', {
            description: 'The change would leave no active admin (`last_admin`)',
          }),
        },
      },
    },
    async (req) => {
      const { row } = await updateUser(
        { store: ctx.store, now: ctx.now, actor: req.apiKeyId },
        req.params.id,
        { role: req.body.role, disabled: req.body.disabled },
      )
      const [listed] = await ctx.store.users.list(row.id)
      return present(listed ?? row)
    },
  )

  app.delete<{ Params: IdParams }>(
    '/users/:id/sessions',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Revoke every session of a dashboard user',
        tags: ['users'],
        params: IdParams,
        response: {
          200: Type.Object(
            { revoked: Type.Integer() },
            { description: 'How many live sessions were revoked' },
          ),
        },
      },
    },
    async (req) => ({
      revoked: await revokeSessions(
        { store: ctx.store, now: ctx.now, actor: req.apiKeyId },
        req.params.id,
      ),
    }),
  )
}
