import {
  secretState,
  type ConfigEntry,
  type ProviderBase,
  type ProviderType,
} from '../provider-type.js'
import { createPlivoProvider, PLIVO_API } from './plivo.provider.js'

/** Settings of a Plivo instance (`"type": "plivo"`). */
export interface PlivoSettings extends ProviderBase {
  readonly type: 'plivo'
  /** Console → Account → Auth ID (`MA...` or a subaccount's `SA...`). */
  readonly authId: string
  readonly authToken: string
  readonly baseUrl: string
  /** Optional: messages without a sender go out through this Powerpack. */
  readonly powerpackUuid: string | undefined
}

const AUTH_ID = /^[A-Za-z0-9]{8,64}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const plivoType: ProviderType<PlivoSettings> = {
  parse(e: ConfigEntry, base: ProviderBase): PlivoSettings {
    const authId = e.str('authId', { required: true })
    if (authId && !AUTH_ID.test(authId)) {
      e.problem('"authId" must be the Auth ID from the Plivo console (letters and digits)')
    }
    return {
      ...base,
      type: 'plivo',
      authId,
      authToken: e.str('authToken', { required: true }),
      baseUrl: e.baseUrl(PLIVO_API),
      powerpackUuid: e.str('powerpackUuid', { pattern: UUID, hint: 'must be a Powerpack UUID' }),
    }
  },
  describe: (c) => ({
    authId: c.authId,
    authToken: secretState(c.authToken),
    baseUrl: c.baseUrl,
    ...(c.powerpackUuid ? { powerpackUuid: c.powerpackUuid } : {}),
  }),
  callbackAuth: () => 'signature',
  create: (c, ctx) =>
    createPlivoProvider({
      name: c.name,
      authId: c.authId,
      authToken: c.authToken,
      baseUrl: c.baseUrl,
      powerpackUuid: c.powerpackUuid,
      callbackUrls: ctx.callbackUrls,
      now: ctx.now,
    }),
}
