-- Initial schema of an Endure SQLite data directory. Never edit once landed: add 0002_*.sql.

CREATE TABLE meta (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- The partition logs. One row per record; trimmed once applied (a bounded tail is kept).
CREATE TABLE log (
  partition INTEGER NOT NULL,
  lsn       INTEGER NOT NULL,
  payload   BLOB    NOT NULL,
  PRIMARY KEY (partition, lsn)
) WITHOUT ROWID;

-- Per-partition state machine bookkeeping: applied LSN, leader epoch, outbox and inbox counters.
CREATE TABLE fsm (
  partition   INTEGER PRIMARY KEY,
  applied_lsn INTEGER NOT NULL DEFAULT 0,
  epoch       INTEGER NOT NULL DEFAULT 0,
  outbox_seq  INTEGER NOT NULL DEFAULT 0,
  inbox_seq   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE invocation (
  id              TEXT    PRIMARY KEY,
  partition       INTEGER NOT NULL,
  status          TEXT    NOT NULL,
  service         TEXT    NOT NULL,
  handler         TEXT    NOT NULL,
  key             TEXT,
  idempotency_key TEXT,
  created_at      INTEGER NOT NULL,
  modified_at     INTEGER NOT NULL,
  completed_at    INTEGER,
  data            BLOB    NOT NULL
);
CREATE INDEX invocation_by_status ON invocation (partition, status);

CREATE TABLE journal (
  invocation_id TEXT    NOT NULL,
  idx           INTEGER NOT NULL,
  type          INTEGER NOT NULL,
  completion_id INTEGER,
  body          BLOB    NOT NULL,
  PRIMARY KEY (invocation_id, idx)
) WITHOUT ROWID;

CREATE TABLE state (
  service TEXT NOT NULL,
  key     TEXT NOT NULL,
  name    BLOB NOT NULL,
  value   BLOB NOT NULL,
  PRIMARY KEY (service, key, name)
) WITHOUT ROWID;

CREATE TABLE object_lock (
  service       TEXT NOT NULL,
  key           TEXT NOT NULL,
  invocation_id TEXT NOT NULL,
  PRIMARY KEY (service, key)
) WITHOUT ROWID;

CREATE TABLE inbox (
  partition     INTEGER NOT NULL,
  service       TEXT    NOT NULL,
  key           TEXT    NOT NULL,
  seq           INTEGER NOT NULL,
  invocation_id TEXT    NOT NULL,
  PRIMARY KEY (service, key, seq)
) WITHOUT ROWID;

CREATE TABLE outbox (
  partition INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  payload   BLOB    NOT NULL,
  PRIMARY KEY (partition, seq)
) WITHOUT ROWID;

CREATE TABLE timer (
  partition INTEGER NOT NULL,
  fire_at   INTEGER NOT NULL,
  timer_key TEXT    NOT NULL,
  payload   BLOB    NOT NULL,
  PRIMARY KEY (partition, timer_key)
) WITHOUT ROWID;
CREATE INDEX timer_by_time ON timer (partition, fire_at);

CREATE TABLE idempotency (
  service         TEXT NOT NULL,
  key             TEXT NOT NULL,
  handler         TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  invocation_id   TEXT NOT NULL,
  PRIMARY KEY (service, key, handler, idempotency_key)
) WITHOUT ROWID;

-- Highest sequence number applied per (partition, producer): makes appends idempotent.
CREATE TABLE dedup (
  partition INTEGER NOT NULL,
  producer  TEXT    NOT NULL,
  seq       INTEGER NOT NULL,
  PRIMARY KEY (partition, producer)
) WITHOUT ROWID;

-- Schema registry.
CREATE TABLE deployment (
  id         TEXT PRIMARY KEY,
  url        TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  data       TEXT NOT NULL
);

CREATE TABLE service (
  name          TEXT PRIMARY KEY,
  revision      INTEGER NOT NULL,
  deployment_id TEXT NOT NULL,
  data          TEXT NOT NULL
);
