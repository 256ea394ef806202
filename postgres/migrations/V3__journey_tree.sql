-- The Merkle tree over the log (docs/adr/0010-outsider-proof.md), derived from journey_events like an index:
-- maintained from the committed log by one server at a time, thrown away and rebuilt from the log when it is
-- lost or does not match it (postgres/src/tree.rs). Written so that it can be run again: a server that finds
-- these tables dropped runs this same text to make them anew, then rebuilds the tree. Never edit a released
-- migration.

-- How far the tree goes, and whether it is being rebuilt. One row, locked FOR UPDATE by whichever server
-- extends the tree, for as long as it does: the tree grows one pass at a time, in position order, without
-- gaps, whichever server appended the records. Committed with the tiles it describes.
CREATE TABLE IF NOT EXISTS journey_tree_state (
    id smallint PRIMARY KEY CHECK (id = 1),
    -- The number of leaves whose hashes are stored: leaf i is the record at position i + 1.
    size bigint NOT NULL CHECK (size >= 0),
    -- While the tree is rebuilt from the log: why. NULL once it has caught up with the log.
    rebuilding text
);

-- The stored levels of the tree (journey_tlog::tree), cut into c2sp.org/tlog-tiles tiles: the row (level, tile)
-- holds hashes [tile·256, tile·256 + n) of that level, 32 bytes each, level 0 being the leaf hashes and each
-- level above the root of every full run of 256 hashes below. Only the last tile of each level (its edge) may
-- hold fewer than 256: it is rewritten as the level grows, every other row is written once. Serving a tile
-- is reading one row; a proof reads a few slices of a few rows.
CREATE TABLE IF NOT EXISTS journey_tree_tiles (
    level smallint NOT NULL CHECK (level BETWEEN 0 AND 8),
    tile bigint NOT NULL CHECK (tile >= 0),
    hashes bytea NOT NULL CHECK (length(hashes) BETWEEN 32 AND 8192 AND length(hashes) % 32 = 0),
    PRIMARY KEY (level, tile)
);
-- Hashes do not compress: stored out of line uncompressed, so that no time is spent trying and a slice of a
-- tile (substring) reads only the chunks it needs.
ALTER TABLE journey_tree_tiles ALTER COLUMN hashes SET STORAGE EXTERNAL;
