/**
 * Group nesting. Windows allows groups inside groups; a cycle would make
 * "is the expert in the helpers list, through nested groups" (O2) undefined,
 * so a membership change that closes a loop is refused.
 */

/**
 * Returns the loop that giving `groupId` the member groups `memberGroupIds`
 * would create, as a list of group ids starting and ending with `groupId`,
 * or null when there is none. `memberGroupsOf` gives a group's current
 * member groups (direct only); `groupId`'s own current members are ignored,
 * since they are being replaced.
 */
export function findMembershipCycle (
  groupId: string,
  memberGroupIds: Iterable<string>,
  memberGroupsOf: (id: string) => Iterable<string>
): string[] | null {
  const visited = new Set<string>()
  const walk = (id: string, path: string[]): string[] | null => {
    if (id === groupId) return [...path, id]
    if (visited.has(id)) return null
    visited.add(id)
    for (const next of memberGroupsOf(id)) {
      const found = walk(next, [...path, id])
      if (found) return found
    }
    return null
  }
  for (const member of memberGroupIds) {
    const found = walk(member, [groupId])
    if (found) return found
  }
  return null
}

/**
 * Every group `accountId` belongs to, directly or through nested groups (O2, O11).
 * Cycle-safe: each group is visited once, whatever the data says.
 */
export function transitiveGroups<G extends { id: string }> (accountId: string, parentsOf: (id: string) => G[]): G[] {
  const seen = new Map<string, G>()
  const queue = [accountId]
  while (queue.length > 0) {
    for (const parent of parentsOf(queue.shift()!)) {
      if (seen.has(parent.id)) continue
      seen.set(parent.id, parent)
      queue.push(parent.id)
    }
  }
  return [...seen.values()]
}
