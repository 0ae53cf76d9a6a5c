-- rebound schema for SQLite. Table and column names follow listmonk's so that
-- SQL written for listmonk runs unchanged; enum columns are TEXT with CHECKs.
-- Timestamps are UTC text 'YYYY-MM-DDTHH:MM:SS.mmmZ', which sorts correctly.

CREATE TABLE subscribers (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name        TEXT NOT NULL DEFAULT '',
    attribs     TEXT NOT NULL DEFAULT '{}',
    status      TEXT NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled', 'blocklisted')),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_subs_status ON subscribers(status);

CREATE TABLE lists (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL DEFAULT 'private' CHECK (type IN ('public', 'private', 'temporary')),
    optin       TEXT NOT NULL DEFAULT 'single' CHECK (optin IN ('single', 'double')),
    tags        TEXT NOT NULL DEFAULT '[]',
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE subscriber_lists (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE ON UPDATE CASCADE,
    list_id       INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE ON UPDATE CASCADE,
    meta          TEXT NOT NULL DEFAULT '{}',
    status        TEXT NOT NULL DEFAULT 'unconfirmed' CHECK (status IN ('unconfirmed', 'confirmed', 'unsubscribed')),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (subscriber_id, list_id)
);
CREATE INDEX idx_sub_lists_list_id ON subscriber_lists(list_id);

CREATE TABLE campaigns (
    id           INTEGER PRIMARY KEY,
    uuid         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    from_email   TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT 'richtext' CHECK (content_type IN ('richtext', 'html', 'plain', 'markdown', 'visual')),
    headers      TEXT NOT NULL DEFAULT '[]',
    status       TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'running', 'scheduled', 'paused', 'cancelled', 'finished')),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE campaign_lists (
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE ON UPDATE CASCADE,
    list_id     INTEGER NULL REFERENCES lists(id) ON DELETE SET NULL ON UPDATE CASCADE,
    list_name   TEXT NOT NULL DEFAULT '',
    UNIQUE (campaign_id, list_id)
);

CREATE TABLE bounces (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE ON UPDATE CASCADE,
    campaign_id   INTEGER NULL REFERENCES campaigns(id) ON DELETE SET NULL ON UPDATE CASCADE,
    type          TEXT NOT NULL DEFAULT 'hard' CHECK (type IN ('soft', 'hard', 'complaint')),
    source        TEXT NOT NULL DEFAULT '',
    meta          TEXT NOT NULL DEFAULT '{}',
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
-- listmonk's indexes, with the subscriber index widened so counting a
-- subscriber's bounces of one type (done for every bounce) reads only the index.
CREATE INDEX idx_bounces_sub_id ON bounces(subscriber_id, type, created_at);
CREATE INDEX idx_bounces_camp_id ON bounces(campaign_id);
CREATE INDEX idx_bounces_source ON bounces(source);
CREATE INDEX idx_bounces_date ON bounces(created_at);

CREATE TABLE settings (
    key        TEXT NOT NULL UNIQUE,
    value      TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- rebound's own tables carry the rebound_ prefix so they never clash with listmonk's.

-- Event ids already recorded: a provider retry (same source and id) is acknowledged, not counted.
CREATE TABLE rebound_bounce_events (
    source     TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (source, event_id)
) WITHOUT ROWID;

-- Bounces no subscriber matched, kept for the operator instead of being dropped.
CREATE TABLE rebound_unmatched_bounces (
    id              INTEGER PRIMARY KEY,
    email           TEXT NOT NULL DEFAULT '',
    subscriber_uuid TEXT NULL,
    campaign_uuid   TEXT NULL,
    type            TEXT NOT NULL CHECK (type IN ('soft', 'hard', 'complaint')),
    source          TEXT NOT NULL DEFAULT '',
    meta            TEXT NOT NULL DEFAULT '{}',
    event_id        TEXT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_rebound_unmatched_date ON rebound_unmatched_bounces(created_at);

CREATE TABLE rebound_users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    type          TEXT NOT NULL DEFAULT 'user' CHECK (type IN ('user', 'api')),
    -- argon2id PHC string of the password (users) or access token (API users).
    password_hash TEXT NOT NULL,
    permissions   TEXT NOT NULL DEFAULT '[]',
    status        TEXT NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
