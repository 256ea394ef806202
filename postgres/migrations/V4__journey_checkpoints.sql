-- The log's identity, the checkpoints it signed and the cosignatures witnesses sent (docs/adr/0010-outsider-proof.md).
-- Not derived: they record what this log said of itself and what witnesses said of it, and nothing rebuilds
-- them. Never edit a released migration.

-- The log's id, 16 lower-case hexadecimal digits made at random by the first server that opens the log after
-- this migration (postgres/src/checkpoints.rs): the last part of the origin its checkpoints name, so that a log
-- rebuilt from an export is another log. Also the lock that makes storing a checkpoint atomic with the check
-- that it contradicts none stored (FOR UPDATE), across every server on this database.
CREATE TABLE journey_log_identity (
    id smallint PRIMARY KEY CHECK (id = 1),
    log_id text NOT NULL CHECK (log_id ~ '^[0-9a-f]{16}$')
);

-- Every checkpoint this log signed: its tree size and root, the signed note exactly as signed (the log's own
-- signature only), and when. Sizes only grow, one checkpoint per size.
CREATE TABLE journey_checkpoints (
    size bigint PRIMARY KEY CHECK (size >= 0),
    root bytea NOT NULL CHECK (length(root) = 32),
    note bytea NOT NULL,
    signed_at timestamptz NOT NULL
);

-- Witnesses' cosignatures of those checkpoints, verified before they are stored, in the order received: the
-- signature line exactly (`— <key name> <base64>`, no newline).
CREATE TABLE journey_cosignatures (
    received bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    size bigint NOT NULL REFERENCES journey_checkpoints (size),
    line text NOT NULL,
    received_at timestamptz NOT NULL,
    CONSTRAINT journey_cosignatures_once UNIQUE (size, line)
);
