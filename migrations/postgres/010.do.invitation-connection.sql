-- PostgreSQL edition of migrations/sqlite/010 (same number, name and effect).
-- How the novice computer can be reached, as its agent reported it (JSON: addresses, RA session id, key hash),
-- the PassStub generated for the invitation, and its LHTICKET: Connection String 2 encrypted under the
-- invitation's password. The password itself is never kept, so the LHTICKET is made once, at creation.
ALTER TABLE invitations ADD COLUMN connection TEXT;
ALTER TABLE invitations ADD COLUMN pass_stub TEXT;
ALTER TABLE invitations ADD COLUMN lh_ticket TEXT;
