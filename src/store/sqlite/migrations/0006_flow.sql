-- Flow control: rules and their limiters, in the partition that owns hash('flow/' || rule id).
-- The data columns hold FlowRule and FlowLimiter messages of proto/endure/records.proto behind
-- the record format byte.

CREATE TABLE flow_rule (
  partition INTEGER NOT NULL,
  id        TEXT    NOT NULL,
  data      BLOB    NOT NULL,
  PRIMARY KEY (partition, id)
) WITHOUT ROWID;

CREATE TABLE flow_limiter (
  partition INTEGER NOT NULL,
  rule      TEXT    NOT NULL,
  limit_key TEXT    NOT NULL,
  data      BLOB    NOT NULL,
  PRIMARY KEY (partition, rule, limit_key)
) WITHOUT ROWID;
