-- Flow control: rules and their limiters, in the partition that owns hash('flow/' || rule id).
-- The data columns hold FlowRule and FlowLimiter messages of proto/endure/records.proto behind
-- the record format byte. Never edit once landed: add 0005_*.sql.

CREATE TABLE flow_rule (
  partition integer NOT NULL,
  id        text COLLATE "C" NOT NULL,
  data      bytea   NOT NULL,
  PRIMARY KEY (partition, id)
);

CREATE TABLE flow_limiter (
  partition integer NOT NULL,
  rule      text COLLATE "C" NOT NULL,
  limit_key text COLLATE "C" NOT NULL,
  data      bytea   NOT NULL,
  PRIMARY KEY (partition, rule, limit_key)
);
