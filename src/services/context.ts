/** Who did it and in which request: carried from the HTTP edge (or the CLI) into every audited change. */
export interface ActorContext {
  actor: string
  actorTokenId: string | null
  requestId: string | null
}

export const CLI_CONTEXT: ActorContext = { actor: 'cli', actorTokenId: null, requestId: null }
export const SYSTEM_CONTEXT: ActorContext = { actor: 'system', actorTokenId: null, requestId: null }
