-- Subscriptions of the event ingress: which broker stream feeds which handler. Metadata, like
-- the deployments: written by the admin API, read by every node at start.
CREATE TABLE subscription (
  id TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  sink TEXT NOT NULL,
  options TEXT NOT NULL,          -- JSON object of strings
  created_at INTEGER NOT NULL
);
