-- Short codes that can be dictated (issue 19): stored only as a keyed hash, looked up by it, living at most 30 minutes.
ALTER TABLE invitations ADD COLUMN code_hash TEXT;
ALTER TABLE invitations ADD COLUMN code_expires_at TEXT;
CREATE UNIQUE INDEX invitations_code_hash ON invitations (code_hash) WHERE code_hash IS NOT NULL;

-- Secrets the service makes for itself, shared by every instance (the short codes' HMAC key), encrypted with
-- RA_KEY_ENCRYPTION_SECRET when it is set.
CREATE TABLE service_secrets (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  encrypted INTEGER NOT NULL CHECK (encrypted IN (0, 1)),
  created_at TEXT NOT NULL
);
