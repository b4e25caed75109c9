-- Tables whose rows carry message bodies become rowid tables (same columns, same primary keys).
-- In a WITHOUT ROWID table the whole row is the b-tree key, and SQLite reads every byte of a
-- key that spills onto overflow pages to compare against it: after one 10 MB body, each insert
-- whose search passed that row read 10 MB again, until the row was trimmed. In a rowid table
-- the primary key is a separate small index and the body stays in the row.

CREATE TABLE log_0007 (
  partition INTEGER NOT NULL,
  lsn       INTEGER NOT NULL,
  payload   BLOB    NOT NULL,
  PRIMARY KEY (partition, lsn)
);
INSERT INTO log_0007 (partition, lsn, payload) SELECT partition, lsn, payload FROM log;
DROP TABLE log;
ALTER TABLE log_0007 RENAME TO log;

CREATE TABLE journal_0007 (
  invocation_id TEXT    NOT NULL,
  idx           INTEGER NOT NULL,
  type          INTEGER NOT NULL,
  completion_id INTEGER,
  body          BLOB    NOT NULL,
  signal_name   TEXT,
  PRIMARY KEY (invocation_id, idx)
);
INSERT INTO journal_0007 (invocation_id, idx, type, completion_id, body, signal_name)
  SELECT invocation_id, idx, type, completion_id, body, signal_name FROM journal;
DROP TABLE journal;
ALTER TABLE journal_0007 RENAME TO journal;

CREATE TABLE state_0007 (
  service TEXT NOT NULL,
  key     TEXT NOT NULL,
  name    BLOB NOT NULL,
  value   BLOB NOT NULL,
  PRIMARY KEY (service, key, name)
);
INSERT INTO state_0007 (service, key, name, value) SELECT service, key, name, value FROM state;
DROP TABLE state;
ALTER TABLE state_0007 RENAME TO state;

CREATE TABLE outbox_0007 (
  partition INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  payload   BLOB    NOT NULL,
  PRIMARY KEY (partition, seq)
);
INSERT INTO outbox_0007 (partition, seq, payload) SELECT partition, seq, payload FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_0007 RENAME TO outbox;

CREATE TABLE timer_0007 (
  partition INTEGER NOT NULL,
  fire_at   INTEGER NOT NULL,
  timer_key TEXT    NOT NULL,
  payload   BLOB    NOT NULL,
  PRIMARY KEY (partition, timer_key)
);
INSERT INTO timer_0007 (partition, fire_at, timer_key, payload) SELECT partition, fire_at, timer_key, payload FROM timer;
DROP TABLE timer;
ALTER TABLE timer_0007 RENAME TO timer;
CREATE INDEX timer_by_time ON timer (partition, fire_at);

CREATE TABLE promise_0007 (
  service TEXT NOT NULL,
  key     TEXT NOT NULL,
  name    TEXT NOT NULL,
  result  BLOB,
  waiters BLOB NOT NULL,
  PRIMARY KEY (service, key, name)
);
INSERT INTO promise_0007 (service, key, name, result, waiters) SELECT service, key, name, result, waiters FROM promise;
DROP TABLE promise;
ALTER TABLE promise_0007 RENAME TO promise;
