-- Space freed by retention and trimming is reused: PostgreSQL never shrinks a table by itself,
-- but once (auto)vacuum has marked dead rows free, new rows fill their space and the table stops
-- growing. By default autovacuum waits for dead rows to reach 20% of a table; on the tables that
-- retention and log trimming empty in bulk, that lets a large table carry a fifth of itself in
-- dead rows. These tables are vacuumed once 2% of their rows (at least 1,000) are dead.
-- Giving space back to the operating system (VACUUM FULL, pg_repack) is an operator's choice:
-- it locks the table.
ALTER TABLE log SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
ALTER TABLE journal SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
ALTER TABLE invocation SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
ALTER TABLE timer SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
ALTER TABLE inbox SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
ALTER TABLE idempotency SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
