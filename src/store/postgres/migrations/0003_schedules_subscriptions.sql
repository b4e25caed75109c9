-- Schedules and subscriptions. Never edit once landed: add 0004_*.sql.

-- Cron and interval schedules: one row per schedule in the partition that owns hash(id). The
-- data column holds a ScheduleRecord of proto/endure/records.proto behind the record format byte.
CREATE TABLE schedule (
  partition integer NOT NULL,
  id        text    NOT NULL,
  data      bytea   NOT NULL,
  PRIMARY KEY (partition, id)
);

-- Subscriptions of the event ingress: which broker stream feeds which handler. Metadata, like
-- the deployments: written by the admin API, read by every node at start.
CREATE TABLE subscription (
  id         text   PRIMARY KEY,
  source     text   NOT NULL,
  sink       text   NOT NULL,
  options    text   NOT NULL, -- JSON object of strings
  created_at bigint NOT NULL
);
