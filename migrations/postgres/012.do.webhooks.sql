-- PostgreSQL edition of migrations/sqlite/012 (same number, name and effect).
-- Webhooks (issue 18): subscriptions, the events they asked for, and a durable outbox of deliveries.
-- An event and its deliveries are written in the unit of work of the change they report; the worker
-- claims due deliveries with a conditional update and a lease, as the e-mail outbox does.

CREATE TABLE webhook_subscriptions (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  description TEXT,
  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  -- Whose it is: 'admin', or 'integration:<name>' (an integration sees only its own).
  owner TEXT NOT NULL,
  -- The signing secrets (whsec_…), encrypted with RA_KEY_ENCRYPTION_SECRET when it is set.
  secret TEXT NOT NULL,
  previous_secret TEXT,
  previous_secret_until TEXT,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  disabled_reason TEXT,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX webhook_subscriptions_owner ON webhook_subscriptions (owner, created_at);

CREATE TABLE webhook_subscription_events (
  subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  event_type TEXT NOT NULL,
  PRIMARY KEY (event_type, subscription_id)
);
CREATE INDEX webhook_subscription_events_subscription ON webhook_subscription_events (subscription_id);

-- The event as sent: its id is the webhook-id of every delivery and retry of it.
CREATE TABLE webhook_events (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  occurred_at TEXT NOT NULL,
  payload TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,
  subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  event_id TEXT NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
  state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'retrying', 'delivered', 'failed', 'cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT,
  lease_until TEXT,
  last_status INTEGER,
  last_error TEXT,
  delivered_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, created_at, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- Each attempt of a delivery: when, how long, the receiver's status code or the error.
CREATE TABLE webhook_attempts (
  delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  duration_ms INTEGER NOT NULL,
  status_code INTEGER,
  error TEXT,
  PRIMARY KEY (delivery_id, attempt)
);
