import type { ProviderContext, SmsProvider } from './provider.js'
import type { ProviderBase, ProviderType } from './provider-type.js'
import { plivoType } from './plivo/plivo.type.js'
import { simulatorHttpType, simulatorType } from './simulator/simulator.type.js'
import { twilioType } from './twilio/twilio.type.js'
import { vonageType } from './vonage/vonage.type.js'

/**
 * Every provider type, by the `type` name operators write in `PROVIDERS`: one line each. A
 * type's folder owns its configuration schema, its adapter and its contract test.
 */
export const PROVIDER_TYPES = {
  simulator: simulatorType,
  'simulator-http': simulatorHttpType,
  twilio: twilioType,
  vonage: vonageType,
  plivo: plivoType,
} as const satisfies Record<string, ProviderType<ProviderBase & { type: string }>>

export type ProviderTypeName = keyof typeof PROVIDER_TYPES

/** The parsed settings of one provider instance, of any type. */
export type ProviderSettings = {
  [K in ProviderTypeName]: Parameters<(typeof PROVIDER_TYPES)[K]['create']>[0]
}[ProviderTypeName]

function typeOf(settings: ProviderSettings): ProviderType<ProviderSettings> {
  return PROVIDER_TYPES[settings.type]
}

/** The adapter for one configured instance. */
export function createProvider(settings: ProviderSettings, ctx: ProviderContext): SmsProvider {
  return typeOf(settings).create(settings, ctx)
}

/** The instance's settings safe to show: no secret. */
export function describeProvider(settings: ProviderSettings): Record<string, unknown> {
  return typeOf(settings).describe(settings)
}

export function callbackAuth(
  settings: ProviderSettings,
): ReturnType<ProviderType<ProviderBase>['callbackAuth']> {
  return typeOf(settings).callbackAuth(settings)
}
