-- Named signals are journaled with their name; workflow durable promises get their own table.

ALTER TABLE journal ADD COLUMN signal_name TEXT;

CREATE TABLE promise (
  service TEXT NOT NULL,
  key     TEXT NOT NULL,
  name    TEXT NOT NULL,
  -- v8-serialized InvocationResult once completed, NULL while pending.
  result  BLOB,
  -- v8-serialized list of { id, completionId } waiting for the result.
  waiters BLOB NOT NULL,
  PRIMARY KEY (service, key, name)
) WITHOUT ROWID;
