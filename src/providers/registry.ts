import type { ProviderConfig } from '../config.js'
import type { SmsProvider } from './provider.js'
import { createSimulatorHttpProvider } from './simulator/simulator-http.provider.js'
import { createSimulatorProvider } from './simulator/simulator.provider.js'

/** One line per provider type: the exhaustive factory from configuration to adapter. */
export function createProvider(config: ProviderConfig): SmsProvider {
  switch (config.type) {
    case 'simulator':
      return createSimulatorProvider(config)
    case 'simulator-http':
      return createSimulatorHttpProvider(config)
  }
}
