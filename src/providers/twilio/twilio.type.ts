import {
  secretState,
  type ConfigEntry,
  type ProviderBase,
  type ProviderType,
} from '../provider-type.js'
import { createTwilioProvider } from './twilio.provider.js'

/** Settings of a Twilio instance (`"type": "twilio"`). */
export interface TwilioSettings extends ProviderBase {
  readonly type: 'twilio'
  /** Account SID, `AC` + 32 hex digits (Twilio Console, Account Info). */
  readonly accountSid: string
  readonly authToken: string
  /** Messaging Service SID, `MG` + 32 hex digits: the sender of messages without `from`. */
  readonly messagingServiceSid: string | undefined
  readonly baseUrl: string
}

export const TWILIO_API = 'https://api.twilio.com'

export const twilioType: ProviderType<TwilioSettings> = {
  parse(e: ConfigEntry, base: ProviderBase): TwilioSettings {
    const accountSid = e.str('accountSid', { required: true })
    if (accountSid && !/^AC[0-9a-fA-F]{32}$/.test(accountSid)) {
      e.problem('"accountSid" must be AC followed by 32 hex digits')
    }
    return {
      ...base,
      type: 'twilio',
      accountSid,
      authToken: e.str('authToken', { required: true }),
      messagingServiceSid: e.str('messagingServiceSid', {
        pattern: /^MG[0-9a-fA-F]{32}$/,
        hint: 'must be MG followed by 32 hex digits',
      }),
      baseUrl: e.baseUrl(TWILIO_API),
    }
  },
  describe: (c) => ({
    accountSid: c.accountSid,
    authToken: secretState(c.authToken),
    messagingServiceSid: c.messagingServiceSid ?? null,
    baseUrl: c.baseUrl,
  }),
  callbackAuth: () => 'signature',
  create: (c, ctx) =>
    createTwilioProvider({
      name: c.name,
      accountSid: c.accountSid,
      authToken: c.authToken,
      messagingServiceSid: c.messagingServiceSid,
      baseUrl: c.baseUrl,
      statusCallbackUrl: ctx.callbackUrls.status,
      now: ctx.now,
    }),
}
