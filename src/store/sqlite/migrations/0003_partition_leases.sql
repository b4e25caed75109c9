-- Partition leadership: one lease per partition; the epoch grows on every takeover, and every
-- batch transaction checks its partitions' epochs (fencing).
CREATE TABLE partitions (
  partition        INTEGER PRIMARY KEY,
  leader           TEXT    NOT NULL,
  epoch            INTEGER NOT NULL,
  lease_expires_at INTEGER NOT NULL
);
