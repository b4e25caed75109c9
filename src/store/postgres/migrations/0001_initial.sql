-- Initial schema of an Endure PostgreSQL store. Never edit once landed: add 0002_*.sql.
-- Every statement runs with search_path set to Endure's schema (default `endure`), so the
-- tables live apart from the user's own. Byte columns hold exactly what the log codec and
-- store/records.ts produce; Endure never serialises a record in SQL.

CREATE TABLE meta (
  name  text PRIMARY KEY,
  value text NOT NULL
);

-- The partition logs. One row per record; trimmed once applied (a bounded tail is kept).
CREATE TABLE log (
  partition integer NOT NULL,
  lsn       bigint  NOT NULL,
  payload   bytea   NOT NULL,
  PRIMARY KEY (partition, lsn)
);

-- Per-partition state machine bookkeeping: applied LSN, leader epoch, outbox and inbox counters.
CREATE TABLE fsm (
  partition   integer PRIMARY KEY,
  applied_lsn bigint  NOT NULL DEFAULT 0,
  epoch       bigint  NOT NULL DEFAULT 0,
  outbox_seq  bigint  NOT NULL DEFAULT 0,
  inbox_seq   bigint  NOT NULL DEFAULT 0
);

CREATE TABLE invocation (
  id              text    PRIMARY KEY,
  partition       integer NOT NULL,
  status          text    NOT NULL,
  service         text    NOT NULL,
  handler         text    NOT NULL,
  key             text,
  idempotency_key text,
  created_at      bigint  NOT NULL,
  modified_at     bigint  NOT NULL,
  completed_at    bigint,
  data            bytea   NOT NULL
);
CREATE INDEX invocation_by_status ON invocation (partition, status);

-- Commands and notifications of each invocation, in order. Signal notifications carry their
-- index in completion_id or their name in signal_name.
CREATE TABLE journal (
  invocation_id text    NOT NULL,
  idx           integer NOT NULL,
  type          integer NOT NULL,
  completion_id bigint,
  signal_name   text,
  body          bytea   NOT NULL,
  PRIMARY KEY (invocation_id, idx)
);

-- bytea compares as unsigned bytes, so state lists in the same order as on SQLite.
CREATE TABLE state (
  service text  NOT NULL,
  key     text  NOT NULL,
  name    bytea NOT NULL,
  value   bytea NOT NULL,
  PRIMARY KEY (service, key, name)
);

CREATE TABLE object_lock (
  service       text NOT NULL,
  key           text NOT NULL,
  invocation_id text NOT NULL,
  PRIMARY KEY (service, key)
);

CREATE TABLE inbox (
  partition     integer NOT NULL,
  service       text    NOT NULL,
  key           text    NOT NULL,
  seq           bigint  NOT NULL,
  invocation_id text    NOT NULL,
  PRIMARY KEY (service, key, seq)
);

CREATE TABLE outbox (
  partition integer NOT NULL,
  seq       bigint  NOT NULL,
  payload   bytea   NOT NULL,
  PRIMARY KEY (partition, seq)
);

CREATE TABLE timer (
  partition integer NOT NULL,
  fire_at   bigint  NOT NULL,
  timer_key text    NOT NULL,
  payload   bytea   NOT NULL,
  PRIMARY KEY (partition, timer_key)
);
CREATE INDEX timer_by_time ON timer (partition, fire_at);

CREATE TABLE idempotency (
  service         text NOT NULL,
  key             text NOT NULL,
  handler         text NOT NULL,
  idempotency_key text NOT NULL,
  invocation_id   text NOT NULL,
  PRIMARY KEY (service, key, handler, idempotency_key)
);

-- Highest sequence number applied per (partition, producer): makes appends idempotent.
CREATE TABLE dedup (
  partition integer NOT NULL,
  producer  text    NOT NULL,
  seq       bigint  NOT NULL,
  PRIMARY KEY (partition, producer)
);

-- Workflow durable promises: result (records.ts bytes) once completed, NULL while pending.
CREATE TABLE promise (
  service text  NOT NULL,
  key     text  NOT NULL,
  name    text  NOT NULL,
  result  bytea,
  waiters bytea NOT NULL,
  PRIMARY KEY (service, key, name)
);

-- Schema registry: the registry's JSON documents, kept as text so they round-trip exactly.
CREATE TABLE deployment (
  id         text   PRIMARY KEY,
  url        text   NOT NULL,
  created_at bigint NOT NULL,
  data       text   NOT NULL
);

CREATE TABLE service (
  name          text    PRIMARY KEY,
  revision      integer NOT NULL,
  deployment_id text    NOT NULL,
  data          text    NOT NULL
);
