-- rebound schema for PostgreSQL: listmonk's tables, types and indexes (the
-- subset bounce processing touches), so the shared tables have the shape of a
-- listmonk database, plus rebound's own rebound_* tables. IF NOT EXISTS lets
-- rebound run beside listmonk in the same database.

DO $$ BEGIN CREATE TYPE list_type AS ENUM ('public', 'private', 'temporary'); EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE TYPE list_optin AS ENUM ('single', 'double'); EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE TYPE subscriber_status AS ENUM ('enabled', 'disabled', 'blocklisted'); EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE TYPE subscription_status AS ENUM ('unconfirmed', 'confirmed', 'unsubscribed'); EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE TYPE campaign_status AS ENUM ('draft', 'running', 'scheduled', 'paused', 'cancelled', 'finished'); EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE TYPE content_type AS ENUM ('richtext', 'html', 'plain', 'markdown', 'visual'); EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE TYPE bounce_type AS ENUM ('soft', 'hard', 'complaint'); EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE TABLE IF NOT EXISTS subscribers (
    id          SERIAL PRIMARY KEY,
    uuid        UUID NOT NULL UNIQUE,
    email       TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    attribs     JSONB NOT NULL DEFAULT '{}',
    status      subscriber_status NOT NULL DEFAULT 'enabled',
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_subs_email ON subscribers(LOWER(email));
CREATE INDEX IF NOT EXISTS idx_subs_status ON subscribers(status);

CREATE TABLE IF NOT EXISTS lists (
    id          SERIAL PRIMARY KEY,
    uuid        UUID NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    type        list_type NOT NULL,
    optin       list_optin NOT NULL DEFAULT 'single',
    tags        VARCHAR(100)[],
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);

CREATE TABLE IF NOT EXISTS subscriber_lists (
    subscriber_id INTEGER REFERENCES subscribers(id) ON DELETE CASCADE ON UPDATE CASCADE,
    list_id       INTEGER NULL REFERENCES lists(id) ON DELETE CASCADE ON UPDATE CASCADE,
    meta          JSONB NOT NULL DEFAULT '{}',
    status        subscription_status NOT NULL DEFAULT 'unconfirmed',
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    PRIMARY KEY (subscriber_id, list_id)
);
CREATE INDEX IF NOT EXISTS idx_sub_lists_list_id ON subscriber_lists(list_id);
CREATE INDEX IF NOT EXISTS idx_sub_lists_status ON subscriber_lists(status);

CREATE TABLE IF NOT EXISTS campaigns (
    id           SERIAL PRIMARY KEY,
    uuid         UUID NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    from_email   TEXT NOT NULL,
    body         TEXT NOT NULL,
    content_type content_type NOT NULL DEFAULT 'richtext',
    headers      JSONB NOT NULL DEFAULT '[]',
    status       campaign_status NOT NULL DEFAULT 'draft',
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at   TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);

CREATE TABLE IF NOT EXISTS campaign_lists (
    id          BIGSERIAL PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE ON UPDATE CASCADE,
    list_id     INTEGER NULL REFERENCES lists(id) ON DELETE SET NULL ON UPDATE CASCADE,
    list_name   TEXT NOT NULL DEFAULT '',
    UNIQUE (campaign_id, list_id)
);

CREATE TABLE IF NOT EXISTS bounces (
    id            SERIAL PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE ON UPDATE CASCADE,
    campaign_id   INTEGER NULL REFERENCES campaigns(id) ON DELETE SET NULL ON UPDATE CASCADE,
    type          bounce_type NOT NULL DEFAULT 'hard',
    source        TEXT NOT NULL DEFAULT '',
    meta          JSONB NOT NULL DEFAULT '{}',
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_bounces_sub_id ON bounces(subscriber_id);
CREATE INDEX IF NOT EXISTS idx_bounces_camp_id ON bounces(campaign_id);
CREATE INDEX IF NOT EXISTS idx_bounces_source ON bounces(source);
CREATE INDEX IF NOT EXISTS idx_bounces_date ON bounces((TIMEZONE('UTC', created_at)::DATE));

CREATE TABLE IF NOT EXISTS settings (
    key        TEXT NOT NULL UNIQUE,
    value      JSONB NOT NULL DEFAULT '{}',
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);

CREATE TABLE IF NOT EXISTS rebound_bounce_events (
    source     TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    PRIMARY KEY (source, event_id)
);

CREATE TABLE IF NOT EXISTS rebound_unmatched_bounces (
    id              BIGSERIAL PRIMARY KEY,
    email           TEXT NOT NULL DEFAULT '',
    subscriber_uuid UUID NULL,
    campaign_uuid   UUID NULL,
    type            bounce_type NOT NULL,
    source          TEXT NOT NULL DEFAULT '',
    meta            JSONB NOT NULL DEFAULT '{}',
    event_id        TEXT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_rebound_unmatched_date ON rebound_unmatched_bounces(created_at);

CREATE TABLE IF NOT EXISTS rebound_users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    type          TEXT NOT NULL DEFAULT 'user' CHECK (type IN ('user', 'api')),
    password_hash TEXT NOT NULL,
    permissions   JSONB NOT NULL DEFAULT '[]',
    status        TEXT NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);
