/** Every contract check, registered under one `describe` per adapter or run one at a time. */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import type { ContractCheckId, ContractSetup } from '../contract.case.js'
import { defineRouteChecks } from './route.checks.js'
import { CHECK_DEFINITIONS, registerChecks, runCheck } from './runner.js'
import { defineSendChecks } from './send.checks.js'
import { defineWebhookChecks } from './webhook.checks.js'

defineSendChecks()
defineWebhookChecks()
defineRouteChecks()

export function registerContractChecks(name: string, setup: ContractSetup): void {
  void describe(`provider contract: ${name}`, () => registerChecks(setup))
}

/**
 * Runs one check outside node:test's reporting (the suite's own mutation tests): resolves
 * with the skip reason or undefined when it passed, rejects with the failure.
 */
export async function runContractCheck(
  setup: ContractSetup,
  id: ContractCheckId,
): Promise<string | undefined> {
  const def = CHECK_DEFINITIONS.find((d) => d.id === id)
  assert.ok(def, `no check ${id}`)
  return runCheck(setup, def, async (title, fn) => {
    try {
      await fn()
    } catch (err) {
      if (err instanceof Error) err.message = `${title}: ${err.message}`
      throw err
    }
  })
}

/** The ids of the checks defined, in order (a test keeps CONTRACT_CHECKS in step). */
export const definedCheckIds = (): ContractCheckId[] => CHECK_DEFINITIONS.map((d) => d.id)
