-- Whether an expert has helped a novice before (a session between them that the novice accepted) is asked
-- when every session opens. The index that answers it held every session, so every new session (never yet
-- accepted) wrote an entry no one reads: it now holds accepted sessions only, written once, when the novice
-- accepts (bench:sqlite-statements: a session's insert 24-25 µs -> 20-22 µs).
DROP INDEX sessions_pair;
CREATE INDEX sessions_pair ON sessions (expert_id, novice_id) WHERE accepted_at IS NOT NULL;
