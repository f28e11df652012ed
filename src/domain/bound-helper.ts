import type { Check } from './decisions.js'

/** The helper an invitation is bound to: a directory user or group, as the novice (or an integration) named it. */
export interface BoundHelper {
  id: string
  name: string
}

/** The expert presenting the ticket, with every group they belong to (nested). */
export interface PresentingExpert {
  id: string
  name: string
  groups: ReadonlyArray<{ id: string, name: string }>
}

/**
 * BOUND_HELPER (issue 19): an invitation bound to a helper may be redeemed by
 * that user, or by a member (nested) of that group, and by no one else. The
 * binding is by id: a renamed account stays bound, a deleted one matches no
 * one. Returns the check, passed or not.
 */
export function boundHelperCheck (helper: BoundHelper, expert: PresentingExpert): { check: Check, matched: boolean } {
  if (expert.id === helper.id) {
    return { matched: true, check: { rule: 'BOUND_HELPER', passed: true, detail: `the invitation is bound to ${helper.name}, who presents it` } }
  }
  if (expert.groups.some((g) => g.id === helper.id)) {
    return { matched: true, check: { rule: 'BOUND_HELPER', passed: true, detail: `the invitation is bound to ${helper.name}; ${expert.name} is a member` } }
  }
  return {
    matched: false,
    check: {
      rule: 'BOUND_HELPER',
      passed: false,
      detail: `the invitation is bound to ${helper.name}; ${expert.name} is not ${helper.name} and not a member of it`,
      remedy: `Ask the novice for a new invitation for you, or let ${helper.name} redeem this one`
    }
  }
}
