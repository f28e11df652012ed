import type { Freshness } from '../db/directory-cache.js'
import { invitationDecision } from '../domain/decisions.js'
import { nameKey } from '../domain/names.js'
import type { Computer } from '../schemas/directory.js'
import type { PolicyService } from './policy-service.js'

/**
 * The policy engine's invitation decision (S1–S6) for this novice at this computer, from the policy in force now (O9):
 * as of the request's arrival or later, with its mark (`since`).
 */
export async function decideInvitation (policy: PolicyService, computer: Computer, novice: string, since?: Freshness) {
  const { policy: resultant } = await policy.resultantFor(computer, since)
  const sitsAtComputer = computer.users.some((u) => nameKey(u) === nameKey(novice))
  return { policy: resultant, decision: invitationDecision(resultant, { computer: computer.name, user: novice, sitsAtComputer }) }
}
