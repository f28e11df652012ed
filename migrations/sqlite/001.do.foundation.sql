-- Foundation: directory (domains, trusts, accounts, groups, computers), API tokens, audit trail.
-- Portable SQL where it costs nothing: TEXT ids (UUIDs), ISO-8601 UTC timestamps in TEXT,
-- JSON documents in TEXT, booleans as INTEGER 0/1. Names keep their spelling; *_key columns
-- hold the upper-cased form so that names compare case-insensitively, as Windows does.

CREATE TABLE domains (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  name_key TEXT NOT NULL UNIQUE,
  dns_name TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- Directed: trusting_domain trusts trusted_domain, so accounts of trusted_domain
-- may be used on trusting_domain's computers.
CREATE TABLE domain_trusts (
  trusting_domain_id TEXT NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
  trusted_domain_id TEXT NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
  PRIMARY KEY (trusting_domain_id, trusted_domain_id),
  CHECK (trusting_domain_id <> trusted_domain_id)
);
CREATE INDEX domain_trusts_trusted ON domain_trusts (trusted_domain_id);

-- Users and groups share one name space per domain, as sAMAccountName does.
CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('user', 'group')),
  domain_id TEXT NOT NULL REFERENCES domains (id),
  name TEXT NOT NULL,
  name_key TEXT NOT NULL,
  display_name TEXT,
  email TEXT,
  description TEXT,
  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (domain_id, name_key)
);
CREATE INDEX accounts_kind_name ON accounts (kind, name_key);

CREATE TABLE group_members (
  group_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  member_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  PRIMARY KEY (group_id, member_id),
  CHECK (group_id <> member_id)
);
CREATE INDEX group_members_member ON group_members (member_id);

CREATE TABLE computers (
  id TEXT PRIMARY KEY,
  domain_id TEXT NOT NULL REFERENCES domains (id),
  name TEXT NOT NULL,
  name_key TEXT NOT NULL,
  platform TEXT,
  dcom_enabled TEXT CHECK (dcom_enabled IN ('Y', 'N')),
  firewall TEXT NOT NULL,
  control_panel TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (domain_id, name_key)
);

-- The computer's local groups (Administrators, Offer Remote Assistance Helpers)
-- and the users who sit at it ("users").
CREATE TABLE computer_members (
  computer_id TEXT NOT NULL REFERENCES computers (id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('administrators', 'offer-ra-helpers', 'users')),
  account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  PRIMARY KEY (computer_id, role, account_id)
);
CREATE INDEX computer_members_account ON computer_members (account_id);

-- API tokens: only the SHA-256 of the token is kept. A token belongs to the built-in
-- administrator, to a directory user, or to a named integration with scopes.
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  principal_kind TEXT NOT NULL CHECK (principal_kind IN ('admin', 'user', 'integration')),
  account_id TEXT REFERENCES accounts (id) ON DELETE CASCADE,
  integration_name TEXT,
  scopes TEXT NOT NULL,
  label TEXT,
  source TEXT NOT NULL CHECK (source IN ('api', 'cli', 'bootstrap', 'generated')),
  created_at TEXT NOT NULL,
  expires_at TEXT,
  last_used_at TEXT,
  revoked_at TEXT,
  CHECK ((principal_kind = 'user') = (account_id IS NOT NULL)),
  CHECK ((principal_kind = 'integration') = (integration_name IS NOT NULL))
);

-- Append-only: the triggers refuse any change to a written event.
CREATE TABLE audit_events (
  id INTEGER PRIMARY KEY,
  occurred_at TEXT NOT NULL,
  request_id TEXT,
  actor TEXT NOT NULL,
  actor_token_id TEXT,
  action TEXT NOT NULL,
  target TEXT,
  outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  details TEXT
);
CREATE INDEX audit_events_time ON audit_events (occurred_at);
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_target ON audit_events (target, id);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit events are append-only');
END;
