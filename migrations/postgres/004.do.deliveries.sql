-- PostgreSQL edition of migrations/sqlite/004 (same number, name and effect).
-- The durable outbox: a delivery and its recipients are written before any network I/O;
-- the worker claims due recipients with a conditional update and a lease.

CREATE TABLE deliveries (
  id TEXT PRIMARY KEY,
  invitation_id TEXT NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
  method TEXT NOT NULL CHECK (method IN ('mailto', 'smapi')),
  message TEXT,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX deliveries_invitation ON deliveries (invitation_id, created_at);

CREATE TABLE delivery_recipients (
  id TEXT PRIMARY KEY,
  delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  address TEXT NOT NULL,
  -- One Message-ID per recipient, kept across attempts.
  message_id TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'retrying', 'failed', 'cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT,
  lease_until TEXT,
  last_error TEXT,
  server_reply TEXT,
  location TEXT,
  sent_at TEXT,
  updated_at TEXT NOT NULL
);
CREATE INDEX delivery_recipients_due ON delivery_recipients (state, next_attempt_at);
CREATE INDEX delivery_recipients_delivery ON delivery_recipients (delivery_id, position);
