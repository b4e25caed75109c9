-- Partition leadership: one lease per partition; the epoch grows on every takeover, and every
-- batch transaction locks its partitions' rows (FOR SHARE) and checks the epoch (fencing).
CREATE TABLE partitions (
  partition        integer PRIMARY KEY,
  leader           text    NOT NULL,
  epoch            bigint  NOT NULL,
  lease_expires_at bigint  NOT NULL
);
