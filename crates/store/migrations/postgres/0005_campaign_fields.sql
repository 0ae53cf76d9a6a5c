-- See the SQLite migration of the same name. IF NOT EXISTS everywhere: in a
-- database listmonk created these columns are already there, in its shape.
DO $$ BEGIN CREATE TYPE campaign_type AS ENUM ('regular', 'optin'); EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE TYPE list_status AS ENUM ('active', 'archived'); EXCEPTION WHEN duplicate_object THEN NULL; END $$;

ALTER TABLE campaigns
    ADD COLUMN IF NOT EXISTS body_source TEXT NULL,
    ADD COLUMN IF NOT EXISTS altbody TEXT NULL,
    ADD COLUMN IF NOT EXISTS send_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN IF NOT EXISTS attribs JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS tags VARCHAR(100)[],
    ADD COLUMN IF NOT EXISTS type campaign_type DEFAULT 'regular',
    -- The default only fills the rows that exist; listmonk's column has none.
    ADD COLUMN IF NOT EXISTS messenger TEXT NOT NULL DEFAULT 'email',
    ADD COLUMN IF NOT EXISTS template_id INTEGER NULL,
    ADD COLUMN IF NOT EXISTS to_send INT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS sent INT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS max_subscriber_id INT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS last_subscriber_id INT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS archive BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS archive_slug TEXT NULL UNIQUE,
    ADD COLUMN IF NOT EXISTS archive_template_id INTEGER NULL,
    ADD COLUMN IF NOT EXISTS archive_meta JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS started_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE campaigns ALTER COLUMN messenger DROP DEFAULT;
CREATE INDEX IF NOT EXISTS idx_camps_status ON campaigns(status);
CREATE INDEX IF NOT EXISTS idx_camps_name ON campaigns(name);
CREATE INDEX IF NOT EXISTS idx_camps_created_at ON campaigns(created_at);
CREATE INDEX IF NOT EXISTS idx_camps_updated_at ON campaigns(updated_at);

ALTER TABLE lists ADD COLUMN IF NOT EXISTS status list_status NOT NULL DEFAULT 'active';
CREATE INDEX IF NOT EXISTS idx_lists_status ON lists(status);
