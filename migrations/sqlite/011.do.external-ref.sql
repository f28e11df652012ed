-- The helpdesk's own reference for an invitation or an offer (its incident number, say): shown on the invitation,
-- carried to its session, and filtered on.
ALTER TABLE invitations ADD COLUMN external_ref TEXT;
ALTER TABLE sessions ADD COLUMN external_ref TEXT;
CREATE INDEX invitations_external_ref ON invitations (external_ref, created_at) WHERE external_ref IS NOT NULL;
CREATE INDEX sessions_external_ref ON sessions (external_ref, created_at) WHERE external_ref IS NOT NULL;
