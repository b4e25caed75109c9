-- Cron schedules: one row per schedule in the partition that owns hash(id). The data column
-- holds a ScheduleRecord of proto/endure/records.proto behind the record format byte.

CREATE TABLE schedule (
  partition INTEGER NOT NULL,
  id        TEXT    NOT NULL,
  data      BLOB    NOT NULL,
  PRIMARY KEY (partition, id)
) WITHOUT ROWID;
