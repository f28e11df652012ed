import type { Freshness } from '../db/directory-cache.js'
import type { Principal } from '../domain/access.js'

/** Who did it and in which request: carried from the HTTP edge (or the CLI) into every audited change. */
export interface ActorContext {
  actor: string
  actorTokenId: string | null
  requestId: string | null
}

export const CLI_CONTEXT: ActorContext = { actor: 'cli', actorTokenId: null, requestId: null }
export const SYSTEM_CONTEXT: ActorContext = { actor: 'system', actorTokenId: null, requestId: null }

/** A caller of a service: who they are (to decide what they may do) and the context their changes are audited with. */
export interface Caller {
  principal: Principal
  ctx: ActorContext
  /** The request's mark for cached lookups (DirectoryCache.mark): what it reads of the directory is as of its arrival or later. */
  since?: Freshness | undefined
}
