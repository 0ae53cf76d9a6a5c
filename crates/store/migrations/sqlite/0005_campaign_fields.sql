-- The columns listmonk v6.2.0's campaigns and lists tables have and
-- rebound's lacked, with listmonk's defaults, so a campaign or list read
-- through the API has every field listmonk's clients expect. Enum columns
-- are TEXT with CHECKs, as elsewhere. Rebound keeps no templates, views or
-- clicks: template ids are stored as given, without a foreign key.
ALTER TABLE campaigns ADD COLUMN body_source TEXT NULL;
ALTER TABLE campaigns ADD COLUMN altbody TEXT NULL;
ALTER TABLE campaigns ADD COLUMN send_at TEXT NULL;
ALTER TABLE campaigns ADD COLUMN attribs TEXT NOT NULL DEFAULT '{}';
ALTER TABLE campaigns ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE campaigns ADD COLUMN type TEXT NOT NULL DEFAULT 'regular' CHECK (type IN ('regular', 'optin'));
ALTER TABLE campaigns ADD COLUMN messenger TEXT NOT NULL DEFAULT 'email';
ALTER TABLE campaigns ADD COLUMN template_id INTEGER NULL;
ALTER TABLE campaigns ADD COLUMN to_send INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN max_subscriber_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN last_subscriber_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN archive INTEGER NOT NULL DEFAULT 0;
-- UNIQUE as an index: SQLite cannot add a UNIQUE column.
ALTER TABLE campaigns ADD COLUMN archive_slug TEXT NULL;
CREATE UNIQUE INDEX idx_camps_archive_slug ON campaigns(archive_slug);
ALTER TABLE campaigns ADD COLUMN archive_template_id INTEGER NULL;
ALTER TABLE campaigns ADD COLUMN archive_meta TEXT NOT NULL DEFAULT '{}';
ALTER TABLE campaigns ADD COLUMN started_at TEXT NULL;
CREATE INDEX idx_camps_status ON campaigns(status);
CREATE INDEX idx_camps_name ON campaigns(name);
CREATE INDEX idx_camps_created_at ON campaigns(created_at);

ALTER TABLE lists ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived'));
CREATE INDEX idx_lists_status ON lists(status);
