-- The system journal (journey_core::journal: keys, policies, decisions, the access log) and the blobs it names
-- (policy components and their example cases), shared by every server on this database, so that a key created
-- or a policy deployed through one node is used by all of them (issue #6). Never edit a released migration.

-- The journal's end: one row, locked FOR UPDATE by every journal append for as long as it runs, which makes
-- sequence numbers gap-free in commit order and lets each append continue the one hash chain.
CREATE TABLE journey_journal_head (
    id smallint PRIMARY KEY CHECK (id = 1),
    -- The last sequence number, 0 when the journal is empty.
    sequence bigint NOT NULL CHECK (sequence >= 0)
);
INSERT INTO journey_journal_head (id, sequence) VALUES (1, 0);

-- One row per record. `stored` is the record's exact stored bytes (compact JSON, journey_core::journal): the
-- bytes its hash covers, and the only thing verification reads. The other columns are copies for indexing.
CREATE TABLE journey_journal (
    sequence bigint PRIMARY KEY CHECK (sequence >= 1),
    stream text NOT NULL,
    version bigint NOT NULL CHECK (version >= 1),
    stored bytea NOT NULL,
    -- Enforced by the database whatever the application does: one record per version of a stream.
    CONSTRAINT journey_journal_stream_version UNIQUE (stream, version)
);

-- Each stream's version, kept in the append transaction: what servers poll to notice another server's
-- appends (a revoked key, a policy deployed) without scanning the journal.
CREATE TABLE journey_journal_streams (
    stream text PRIMARY KEY,
    version bigint NOT NULL CHECK (version >= 1)
);

-- Content-addressed: a blob's name is the SHA-256 of its bytes, re-checked on every read.
CREATE TABLE journey_blobs (
    hash bytea PRIMARY KEY CHECK (length(hash) = 32),
    bytes bytea NOT NULL
);
