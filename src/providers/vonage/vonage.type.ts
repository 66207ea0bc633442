import {
  secretState,
  type ConfigEntry,
  type ProviderBase,
  type ProviderType,
} from '../provider-type.js'
import { VONAGE_SIGNATURE_METHODS, type VonageSignatureMethod } from './vonage-signature.js'
import { createVonageProvider } from './vonage.provider.js'

/** Settings of a Vonage SMS API instance (`"type": "vonage"`). */
export interface VonageSettings extends ProviderBase {
  readonly type: 'vonage'
  readonly apiKey: string
  readonly apiSecret: string
  /** Dashboard → API settings → signature secret: signs requests and callbacks. */
  readonly signatureSecret: string | undefined
  /** The account's signature method; md5hash (Vonage's default) when a secret is set. */
  readonly signatureMethod: VonageSignatureMethod
  readonly baseUrl: string
}

export const VONAGE_API = 'https://rest.nexmo.com'

export const vonageType: ProviderType<VonageSettings> = {
  parse(e: ConfigEntry, base: ProviderBase): VonageSettings {
    const signatureSecret = e.str('signatureSecret')
    const signatureMethod = e.oneOf('signatureMethod', VONAGE_SIGNATURE_METHODS, 'md5hash')
    if (signatureSecret === undefined && e.raw.signatureMethod !== undefined) {
      e.problem('"signatureMethod" needs "signatureSecret"')
    }
    return {
      ...base,
      type: 'vonage',
      apiKey: e.str('apiKey', { required: true }),
      apiSecret: e.str('apiSecret', { required: true }),
      signatureSecret,
      signatureMethod,
      baseUrl: e.baseUrl(VONAGE_API),
    }
  },
  describe: (c) => ({
    baseUrl: c.baseUrl,
    apiSecret: secretState(c.apiSecret),
    signatureSecret: secretState(c.signatureSecret),
    ...(c.signatureSecret ? { signatureMethod: c.signatureMethod } : {}),
  }),
  callbackAuth: (c) => (c.signatureSecret ? 'signature' : 'token'),
  create: (c, ctx) =>
    createVonageProvider({
      name: c.name,
      apiKey: c.apiKey,
      apiSecret: c.apiSecret,
      signatureSecret: c.signatureSecret,
      signatureMethod: c.signatureMethod,
      baseUrl: c.baseUrl,
      callbackUrls: ctx.callbackUrls,
      callbackToken: ctx.callbackToken,
      now: ctx.now,
    }),
}
