-- Invitations bound to a helper (issue 19): only that user, or a member (nested) of that group, may redeem.
-- Kept by id (a rename does not unbind; a deleted account matches no one) and by name (as it was named).
ALTER TABLE invitations ADD COLUMN helper_id TEXT;
ALTER TABLE invitations ADD COLUMN helper_name TEXT;
-- The session shows its novice that the expert is the one they named.
ALTER TABLE sessions ADD COLUMN bound_helper TEXT;
