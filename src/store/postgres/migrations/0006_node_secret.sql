-- A random secret per node process: node-to-node appends carry the target's secret, read from
-- this row, so only someone who can read the store can append commands through a node.
ALTER TABLE nodes ADD COLUMN secret text NOT NULL DEFAULT '';
