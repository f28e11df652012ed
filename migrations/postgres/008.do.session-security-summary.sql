-- PostgreSQL edition of migrations/sqlite/008 (same number, name and effect).
-- A session's security events with repeats collapsed (one row per kind and details, with how often
-- and when first and last), kept as they are written: the session view reads a few rows by index
-- instead of grouping the whole event log on every read. The full history stays in session_events.
CREATE TABLE session_security_summary (
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  -- The event's details as stored in session_events.data ('' for none, so that it can be part of the key).
  data TEXT NOT NULL,
  count INTEGER NOT NULL,
  first_at TEXT NOT NULL,
  last_at TEXT NOT NULL,
  last_id BIGINT NOT NULL,
  PRIMARY KEY (session_id, type, data)
);
CREATE INDEX session_security_summary_recent ON session_security_summary (session_id, last_id);

INSERT INTO session_security_summary (session_id, type, data, count, first_at, last_at, last_id)
  SELECT session_id, type, coalesce(data, ''), count(*), min(occurred_at), max(occurred_at), max(id)
  FROM session_events WHERE type LIKE 'security.%' GROUP BY session_id, type, coalesce(data, '');
