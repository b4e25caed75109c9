-- A random secret per node process, carried by node-to-node appends (see the PostgreSQL twin).
ALTER TABLE nodes ADD COLUMN secret TEXT NOT NULL DEFAULT '';
