-- Each child's content sealed under a content key of its own, and erasure by destroying that key
-- (docs/adr/0011-content-sealed-per-child.md, postgres/src/keys.rs). Never edit a released migration.

-- Whether the log seals content, and under which key-encryption key: the fingerprint of the key that wraps
-- every content key (never the key itself). NULL: the log keeps content in the clear (made before this
-- migration, or first opened without a key-encryption key) and stays so. Set once, on the head row, while the
-- log is empty, so that every append (which locks this row) sees the same decision whichever server it runs
-- on, and a server opened with another key-encryption key, or none, is refused at open by name.
ALTER TABLE journey_log_head ADD COLUMN kek_fingerprint text
    CHECK (kek_fingerprint IS NULL OR length(kek_fingerprint) BETWEEN 1 AND 200);

-- One row per child whose records are sealed: its content key wrapped by the key-encryption key (bound to the
-- child id), inserted in the same transaction as the child's first records, so no committed record is ever
-- without its key. Destroying the key is erasure: `wrapped` becomes NULL and `destroyed_at` says when, in one
-- transaction under the log-head lock. The row stays as the record that the child's content was destroyed
-- (no key, no content). The old row version holding the wrapped key stays in the table's pages as a dead tuple
-- until VACUUM removes it, and in the WAL and backups until they expire: docs/deployment.md.
CREATE TABLE journey_content_keys (
    child_id text PRIMARY KEY,
    wrapped bytea CHECK (wrapped IS NULL OR length(wrapped) BETWEEN 1 AND 4096),
    destroyed_at timestamptz,
    CONSTRAINT journey_content_keys_live_or_destroyed CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);

-- A sealed record keeps no digest of its plaintext: a digest would outlive erasure and let anyone who can guess
-- a record's content confirm the guess. Its retries are judged by opening the stored body with the child's key
-- instead. Records in the clear keep theirs.
ALTER TABLE journey_events ALTER COLUMN content_digest DROP NOT NULL;
