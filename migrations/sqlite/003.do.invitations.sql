-- Ticket-signing keys, invitations, and the sessions redemption opens.

-- One active key signs; a retired key stays published and verifying until
-- every ticket it signed has expired (max_expires_at).
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  -- The private JWK: in clear, or an AES-256-GCM envelope when RA_KEY_ENCRYPTION_SECRET is set.
  private_key TEXT NOT NULL,
  encrypted INTEGER NOT NULL CHECK (encrypted IN (0, 1)),
  created_at TEXT NOT NULL,
  retired_at TEXT,
  max_expires_at TEXT
);

CREATE TABLE invitations (
  id TEXT PRIMARY KEY,
  computer_id TEXT NOT NULL REFERENCES computers (id),
  novice_id TEXT NOT NULL REFERENCES accounts (id),
  created_by TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open', 'redeemed', 'expired', 'revoked', 'locked')),
  mode TEXT NOT NULL CHECK (mode IN ('view', 'control')),
  lifetime_minutes INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  kid TEXT NOT NULL REFERENCES signing_keys (kid),
  jti TEXT NOT NULL UNIQUE,
  password_hash TEXT,
  password_failures INTEGER NOT NULL DEFAULT 0,
  delivery TEXT,
  redeemed_at TEXT,
  redeemed_by TEXT REFERENCES accounts (id),
  revoked_at TEXT,
  locked_at TEXT,
  ended_at TEXT
);
CREATE INDEX invitations_novice ON invitations (novice_id, created_at);
CREATE INDEX invitations_computer ON invitations (computer_id, created_at);
CREATE INDEX invitations_state_expiry ON invitations (state, expires_at);

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  origin TEXT NOT NULL CHECK (origin IN ('invitation', 'offer')),
  invitation_id TEXT UNIQUE REFERENCES invitations (id),
  computer_id TEXT NOT NULL REFERENCES computers (id),
  novice_id TEXT NOT NULL REFERENCES accounts (id),
  expert_id TEXT NOT NULL REFERENCES accounts (id),
  state TEXT NOT NULL,
  -- The most the session may reach: view, or view and control (S2/O3).
  permitted_mode TEXT NOT NULL CHECK (permitted_mode IN ('view', 'control')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX sessions_novice ON sessions (novice_id, created_at);
CREATE INDEX sessions_expert ON sessions (expert_id, created_at);

-- Security events its novice should be told about (a second redemption of the ticket, say).
CREATE TABLE session_security_events (
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  occurred_at TEXT NOT NULL,
  kind TEXT NOT NULL,
  details TEXT
);
CREATE INDEX session_security_events_session ON session_security_events (session_id, id);
