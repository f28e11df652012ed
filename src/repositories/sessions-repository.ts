import { randomUUID } from 'node:crypto'
import type { Db } from '../db/database.js'
import { nowIso } from '../db/database.js'
import type { Session } from '../schemas/invitations.js'

interface SessionRow {
  id: string
  origin: Session['origin']
  invitation_id: string | null
  computer_id: string
  novice_id: string
  expert_id: string
  state: string
  permitted_mode: Session['permittedMode']
  created_at: string
  updated_at: string
  computer_name: string
  novice_name: string
  expert_name: string
}

const SELECT = `SELECT s.*, cd.name || '\\' || c.name AS computer_name, nd.name || '\\' || n.name AS novice_name, ed.name || '\\' || e.name AS expert_name
  FROM sessions s
  JOIN computers c ON c.id = s.computer_id JOIN domains cd ON cd.id = c.domain_id
  JOIN accounts n ON n.id = s.novice_id JOIN domains nd ON nd.id = n.domain_id
  JOIN accounts e ON e.id = s.expert_id JOIN domains ed ON ed.id = e.domain_id`

export class SessionsRepository {
  constructor (private readonly db: Db) {}

  /** A new session awaiting the novice (C1). */
  insert (fields: { origin: Session['origin'], invitationId: string | null, computerId: string, noviceId: string, expertId: string, permittedMode: Session['permittedMode'] }): string {
    const id = randomUUID()
    const now = nowIso()
    this.db.prepare(`INSERT INTO sessions (id, origin, invitation_id, computer_id, novice_id, expert_id, state, permitted_mode, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, 'awaiting-novice', ?, ?, ?)`).run(id, fields.origin, fields.invitationId, fields.computerId, fields.noviceId, fields.expertId, fields.permittedMode, now, now)
    return id
  }

  idForInvitation (invitationId: string): string | undefined {
    return (this.db.prepare('SELECT id FROM sessions WHERE invitation_id = ?').get(invitationId) as { id: string } | undefined)?.id
  }

  addSecurityEvent (sessionId: string, kind: string, details: Record<string, unknown>): void {
    this.db.prepare('INSERT INTO session_security_events (session_id, occurred_at, kind, details) VALUES (?, ?, ?, ?)')
      .run(sessionId, nowIso(), kind, JSON.stringify(details))
  }

  get (id: string): Session | undefined {
    const row = this.db.prepare(`${SELECT} WHERE s.id = ?`).get(id) as SessionRow | undefined
    if (!row) return undefined
    const events = this.db.prepare('SELECT kind, occurred_at, details FROM session_security_events WHERE session_id = ? ORDER BY id')
      .all(id) as Array<{ kind: string, occurred_at: string, details: string | null }>
    return {
      id: row.id,
      origin: row.origin,
      invitationId: row.invitation_id,
      computer: row.computer_name,
      novice: row.novice_name,
      expert: row.expert_name,
      state: row.state,
      // Nothing is visible before the novice accepts (C1).
      mode: row.state === 'awaiting-novice' ? 'none' : 'view',
      permittedMode: row.permitted_mode,
      securityEvents: events.map((e) => ({ kind: e.kind, occurredAt: e.occurred_at, details: e.details ? JSON.parse(e.details) as Record<string, unknown> : null })),
      createdAt: row.created_at,
      updatedAt: row.updated_at
    }
  }
}
