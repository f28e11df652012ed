-- PostgreSQL edition of migrations/sqlite/006 (same number, name and effect).
-- What the service caches in memory (tokens, directory, policy, signing keys) is
-- valid while this counter stays the same. Triggers bump it on every change to
-- those tables, whoever makes it (this process, another one, the CLI, a hand
-- edit), so no code path can forget to invalidate. Use counters
-- (api_tokens.last_used_at, signing_keys.max_expires_at) do not count.
CREATE TABLE directory_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  n INTEGER NOT NULL
);
INSERT INTO directory_version (id, n) VALUES (1, 0);

CREATE FUNCTION bump_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE directory_version SET n = n + 1 WHERE id = 1;
  RETURN NULL;
END;
$$;

CREATE TRIGGER domains_insert_version AFTER INSERT ON domains FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER domains_update_version AFTER UPDATE ON domains FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER domains_delete_version AFTER DELETE ON domains FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER domain_trusts_insert_version AFTER INSERT ON domain_trusts FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER domain_trusts_update_version AFTER UPDATE ON domain_trusts FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER domain_trusts_delete_version AFTER DELETE ON domain_trusts FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER accounts_insert_version AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER accounts_update_version AFTER UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER accounts_delete_version AFTER DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER group_members_insert_version AFTER INSERT ON group_members FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER group_members_update_version AFTER UPDATE ON group_members FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER group_members_delete_version AFTER DELETE ON group_members FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER computers_insert_version AFTER INSERT ON computers FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER computers_update_version AFTER UPDATE ON computers FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER computers_delete_version AFTER DELETE ON computers FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER computer_members_insert_version AFTER INSERT ON computer_members FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER computer_members_update_version AFTER UPDATE ON computer_members FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER computer_members_delete_version AFTER DELETE ON computer_members FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER policies_insert_version AFTER INSERT ON policies FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER policies_update_version AFTER UPDATE ON policies FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER policies_delete_version AFTER DELETE ON policies FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER policy_links_insert_version AFTER INSERT ON policy_links FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER policy_links_update_version AFTER UPDATE ON policy_links FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER policy_links_delete_version AFTER DELETE ON policy_links FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER computer_local_policies_insert_version AFTER INSERT ON computer_local_policies FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER computer_local_policies_update_version AFTER UPDATE ON computer_local_policies FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER computer_local_policies_delete_version AFTER DELETE ON computer_local_policies FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER api_tokens_insert_version AFTER INSERT ON api_tokens FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER api_tokens_update_version AFTER UPDATE OF token_hash, principal_kind, account_id, integration_name, scopes, expires_at, revoked_at ON api_tokens FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER api_tokens_delete_version AFTER DELETE ON api_tokens FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER signing_keys_insert_version AFTER INSERT ON signing_keys FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER signing_keys_update_version AFTER UPDATE OF kid, alg, public_jwk, private_key, encrypted, retired_at ON signing_keys FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER signing_keys_delete_version AFTER DELETE ON signing_keys FOR EACH ROW EXECUTE FUNCTION bump_directory_version();

-- SHA-256 of the ticket as issued (base64url): redemption recognises a ticket
-- this service issued by comparing it with the stored hash, in constant time,
-- instead of verifying the signature (kept for anything else, and for JWKS users).
ALTER TABLE invitations ADD COLUMN ticket_hash TEXT;
