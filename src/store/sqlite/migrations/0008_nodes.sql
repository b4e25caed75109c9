-- Cluster membership: each node heartbeats its row; a node whose heartbeat lapsed is not counted
-- when the live nodes share the partitions out.
CREATE TABLE nodes (
  name           TEXT    PRIMARY KEY,
  address        TEXT    NOT NULL,
  heartbeat_at   INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL
);
