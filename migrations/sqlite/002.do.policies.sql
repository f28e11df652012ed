-- Remote Assistance policy objects (Group-Policy-style), their ordered links to domains,
-- and each computer's Local Computer Policy. Settings are JSON documents in the shape of
-- src/domain/policy.ts (every setting three-state, options only when enabled).

CREATE TABLE policies (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  name_key TEXT NOT NULL UNIQUE,
  description TEXT,
  settings TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- Link order 1 has the highest precedence among a domain's links, as in GPMC.
CREATE TABLE policy_links (
  domain_id TEXT NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
  policy_id TEXT NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
  link_order INTEGER NOT NULL CHECK (link_order >= 1),
  PRIMARY KEY (domain_id, policy_id),
  UNIQUE (domain_id, link_order)
);
CREATE INDEX policy_links_policy ON policy_links (policy_id);

CREATE TABLE computer_local_policies (
  computer_id TEXT PRIMARY KEY REFERENCES computers (id) ON DELETE CASCADE,
  settings TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
