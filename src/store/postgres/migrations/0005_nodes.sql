-- Cluster membership: each node heartbeats its row; a node whose heartbeat lapsed is not counted
-- when the live nodes share the partitions out, and its address is where ingress is forwarded.
CREATE TABLE nodes (
  name           text   PRIMARY KEY,
  address        text   NOT NULL,
  heartbeat_at   bigint NOT NULL,
  expires_at     bigint NOT NULL
);
