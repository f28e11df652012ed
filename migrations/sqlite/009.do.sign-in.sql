-- Sign-in for the pages. A browser session is a server-side record named by an HttpOnly cookie: only the
-- SHA-256 of the cookie's secret is kept. It expires, and is revoked at sign-out; a disabled user's are refused.
CREATE TABLE browser_sessions (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL UNIQUE,
  principal_kind TEXT NOT NULL CHECK (principal_kind IN ('admin', 'user')),
  account_id TEXT REFERENCES accounts (id) ON DELETE CASCADE,
  -- How the person signed in: the identity provider, a one-time link, or one of their API tokens.
  method TEXT NOT NULL CHECK (method IN ('oidc', 'link', 'token')),
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  revoked_at TEXT,
  CHECK ((principal_kind = 'user') = (account_id IS NOT NULL))
);
CREATE INDEX browser_sessions_account ON browser_sessions (account_id);
CREATE INDEX browser_sessions_expiry ON browser_sessions (expires_at);

-- Short-lived, single-use steps of a sign-in: a one-time link made by the CLI (for a user), or an
-- identity-provider round trip in progress (its PKCE verifier and nonce), found by the hash of its secret.
CREATE TABLE sign_in_grants (
  id TEXT PRIMARY KEY,
  grant_hash TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('link', 'oidc')),
  account_id TEXT REFERENCES accounts (id) ON DELETE CASCADE,
  data TEXT,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT,
  CHECK ((kind = 'link') = (account_id IS NOT NULL))
);
CREATE INDEX sign_in_grants_expiry ON sign_in_grants (expires_at);
