-- The session's life after redemption: consent deadline, control requests, and a stored,
-- ordered event log (replayed to clients that reconnect with Last-Event-ID).

ALTER TABLE sessions ADD COLUMN accept_deadline TEXT;
ALTER TABLE sessions ADD COLUMN accepted_at TEXT;
ALTER TABLE sessions ADD COLUMN ended_at TEXT;
ALTER TABLE sessions ADD COLUMN end_reason TEXT;
ALTER TABLE sessions ADD COLUMN expert_token_id TEXT;
UPDATE sessions SET accept_deadline = created_at WHERE accept_deadline IS NULL;
CREATE INDEX sessions_state ON sessions (state, accept_deadline);

CREATE TABLE control_requests (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  state TEXT NOT NULL CHECK (state IN ('pending', 'granted', 'denied', 'expired', 'cancelled')),
  requested_at TEXT NOT NULL,
  deadline TEXT NOT NULL,
  answered_at TEXT,
  reason TEXT
);
CREATE INDEX control_requests_pending ON control_requests (state, deadline);
CREATE INDEX control_requests_session ON control_requests (session_id, requested_at);

CREATE TABLE session_events (
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  occurred_at TEXT NOT NULL,
  type TEXT NOT NULL,
  actor TEXT NOT NULL,
  data TEXT
);
CREATE INDEX session_events_session ON session_events (session_id, id);

INSERT INTO session_events (session_id, occurred_at, type, actor, data)
  SELECT session_id, occurred_at, 'security.' || kind, 'system', details FROM session_security_events ORDER BY id;
DROP TABLE session_security_events;
