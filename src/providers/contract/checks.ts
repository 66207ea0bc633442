/** Registers every contract check under one `describe` per adapter. */
import { describe } from 'node:test'
import type { ContractSetup } from '../contract.case.js'
import { registerRouteChecks } from './route.checks.js'
import { registerSendChecks } from './send.checks.js'
import { registerWebhookChecks } from './webhook.checks.js'

export function registerContractChecks(name: string, setup: ContractSetup): void {
  void describe(`provider contract: ${name}`, () => {
    registerSendChecks(setup)
    registerWebhookChecks(setup)
    registerRouteChecks(setup)
  })
}
