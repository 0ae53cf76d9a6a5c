-- See the SQLite migration of the same name.
ALTER TABLE rebound_unmatched_bounces ADD COLUMN IF NOT EXISTS unverified BOOLEAN NOT NULL DEFAULT FALSE;
