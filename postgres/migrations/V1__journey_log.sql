-- Journey's event log in PostgreSQL (docs/adr/0007-postgres-store.md). Run by Journey itself at open, through
-- refinery, in the schema named by the connection's search_path. Never edit a released migration: add one.

-- The end of the log: one row, locked FOR UPDATE by every append transaction for as long as it runs. The
-- lock is what makes positions gap-free *in commit order*: a transaction assigns positions only after the
-- previous holder has committed (or rolled back), so no transaction can commit position p + 1 while p is
-- still uncommitted, and a reader never sees a hole that is later filled. The row also carries what the next
-- append needs to continue the global hash chain (crate::chain's log_hash is one chain over the whole log) and
-- to keep recorded time from going backwards, whichever server process appends next.
CREATE TABLE journey_log_head (
    id smallint PRIMARY KEY CHECK (id = 1),
    -- The last position, 0 when the log is empty.
    position bigint NOT NULL CHECK (position >= 0),
    log_hash bytea NOT NULL CHECK (length(log_hash) = 32),
    -- The last record's recorded_at; NULL when the log is empty.
    recorded_at timestamptz
);
INSERT INTO journey_log_head (id, position, log_hash, recorded_at)
VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000', NULL);

-- One row per record. `body` is the record's exact encoded bytes (journey_core::encoding, schema u16 ‖
-- bincode(StoreFields) ‖ bincode(NewEvent)): the bytes both hashes cover, the same bytes the embedded store
-- writes to its segments. The other columns are copies of what the body says, for indexing; reads check them
-- against the decoded body, and verify recomputes both chains from the bodies alone.
--
-- child_id is the natural distribution key (Citus: create_distributed_table('journey_events', 'child_id')):
-- every stream read, version check and export touches one child. A distributed table's unique constraints
-- must include the distribution column, so on Citus the primary key becomes (child_id, position) and event-id
-- uniqueness moves to a table distributed by event_id (docs/deployment.md).
CREATE TABLE journey_events (
    position bigint PRIMARY KEY CHECK (position >= 1),
    child_id text NOT NULL,
    version bigint NOT NULL CHECK (version >= 1),
    event_id text NOT NULL,
    recorded_at timestamptz NOT NULL,
    -- SHA-256 over the child and the sender's bytes: decides whether a resubmitted event id is a retry.
    content_digest bytea NOT NULL CHECK (length(content_digest) = 32),
    stream_hash bytea NOT NULL CHECK (length(stream_hash) = 32),
    log_hash bytea NOT NULL CHECK (length(log_hash) = 32),
    body bytea NOT NULL,
    -- Enforced by the database whatever the application does: one record per version of a stream ...
    CONSTRAINT journey_events_stream_version UNIQUE (child_id, version),
    -- ... and one record per event id, across all children.
    CONSTRAINT journey_events_event_id UNIQUE (event_id)
);

-- "As known at T" is a prefix of the log; finding where it ends.
CREATE INDEX journey_events_recorded_at ON journey_events (recorded_at);
