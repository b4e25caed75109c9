-- endure:outside-transaction
-- Pages freed by retention (purged invocations and journals, trimmed log records) go back to
-- the operating system: with auto_vacuum = INCREMENTAL, SQLite keeps freed pages on the
-- freelist (where later writes reuse them) and `PRAGMA incremental_vacuum` moves them off the
-- end of the file, which the store runs in small passes (src/store/sqlite/vacuum.ts).
-- auto_vacuum of an existing database changes only with a VACUUM, which cannot run inside a
-- transaction; both statements are idempotent, so a crash between them and the bookkeeping
-- just runs them again. The VACUUM rewrites the file once, at the first start after upgrading.
PRAGMA auto_vacuum = INCREMENTAL;
VACUUM;
