-- PostgreSQL edition of migrations/sqlite/015 (same number, name and effect).
-- Safeguards of the novice's consent (issue 19): comparing a verification code, control that runs out,
-- a hash chain of consent events (signed receipts), and reports of an unexpected expert.

-- Wrong verification codes typed so far (three end the session); whether this expert had helped this novice
-- before the session was opened; how long control is granted for and when its end is announced.
ALTER TABLE sessions ADD COLUMN code_mismatches INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN first_time_helper INTEGER NOT NULL DEFAULT 0 CHECK (first_time_helper IN (0, 1));
ALTER TABLE sessions ADD COLUMN control_until TEXT;
ALTER TABLE sessions ADD COLUMN control_warn_at TEXT;
ALTER TABLE sessions ADD COLUMN more_time_requested_at TEXT;
CREATE INDEX sessions_control_until ON sessions (control_until) WHERE control_until IS NOT NULL;
CREATE INDEX sessions_control_warn_at ON sessions (control_warn_at) WHERE control_warn_at IS NOT NULL;
CREATE INDEX sessions_pair ON sessions (expert_id, novice_id, accepted_at);

-- Each consent event of a session, as the canonical JSON (RFC 8785) of an entry that holds the SHA-256 of the
-- entry before it; `hash` is the SHA-256 of `entry`. Written in the unit of work of the event, never changed.
CREATE TABLE consent_chain (
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  entry TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (session_id, seq)
);

-- "This isn't who I expected": the novice's report, in their words.
CREATE TABLE security_reports (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions (id),
  novice_id TEXT NOT NULL REFERENCES accounts (id),
  expert_id TEXT NOT NULL REFERENCES accounts (id),
  words TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX security_reports_created ON security_reports (created_at, id);

-- A service extension beside the ADMX settings, per policy object (the verification code's requirement).
ALTER TABLE policies ADD COLUMN extensions TEXT NOT NULL DEFAULT '{}';
