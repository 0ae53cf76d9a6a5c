-- rebound's own tables in listmonk companion mode (docs/companion.md). They
-- live in the `rebound` schema of listmonk's database, which rebound puts
-- first on its search_path; listmonk's tables (subscribers, lists, bounces,
-- campaigns, ...) stay listmonk's and are never created or altered here.
--
-- Nothing here depends on listmonk: no foreign keys into its tables and no
-- column of its enum types (TEXT with CHECK instead), so `listmonk --install`
-- or an upgrade that drops and recreates its types (DROP TYPE ... CASCADE)
-- cannot touch a column of rebound's, and `DROP SCHEMA rebound CASCADE`
-- removes rebound without a trace.
--
-- The tables are the standalone migrations' rebound_* tables (0001..0004),
-- consolidated, plus rebound's own `settings` (listmonk's rows are its own).

CREATE TABLE settings (
    key        TEXT NOT NULL UNIQUE,
    value      JSONB NOT NULL DEFAULT '{}',
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);

CREATE TABLE rebound_bounce_events (
    source     TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    PRIMARY KEY (source, event_id)
);

CREATE TABLE rebound_unmatched_bounces (
    id              BIGSERIAL PRIMARY KEY,
    email           TEXT NOT NULL DEFAULT '',
    subscriber_uuid UUID NULL,
    campaign_uuid   UUID NULL,
    type            TEXT NOT NULL CHECK (type IN ('soft', 'hard', 'complaint')),
    source          TEXT NOT NULL DEFAULT '',
    meta            JSONB NOT NULL DEFAULT '{}',
    event_id        TEXT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    unverified      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_rebound_unmatched_date ON rebound_unmatched_bounces(created_at);

CREATE TABLE rebound_users (
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

CREATE TABLE rebound_mailbox_messages (
    id             BIGSERIAL PRIMARY KEY,
    mailbox_uuid   UUID NOT NULL,
    source         TEXT NOT NULL DEFAULT '',
    digest         TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('not_bounce', 'unparseable', 'parse_error', 'unattributed')),
    reason         TEXT NOT NULL DEFAULT '',
    meta           JSONB NOT NULL DEFAULT '{}',
    raw            BYTEA NOT NULL,
    size           BIGINT NOT NULL DEFAULT 0,
    truncated      BOOLEAN NOT NULL DEFAULT FALSE,
    left_on_server BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    UNIQUE (mailbox_uuid, digest)
);
CREATE INDEX idx_rebound_mailbox_messages_date ON rebound_mailbox_messages(created_at);

CREATE TABLE rebound_mailbox_handled (
    mailbox_uuid UUID NOT NULL,
    message_key  TEXT NOT NULL,
    disposition  TEXT NOT NULL CHECK (disposition IN ('remove', 'leave')),
    handled_at   TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    PRIMARY KEY (mailbox_uuid, message_key)
);

CREATE TABLE rebound_mailbox_state (
    mailbox_uuid     UUID PRIMARY KEY,
    label            TEXT NOT NULL DEFAULT '',
    lease_owner      TEXT NULL,
    lease_until      TIMESTAMP WITH TIME ZONE NULL,
    last_scan_at     TIMESTAMP WITH TIME ZONE NULL,
    last_finished_at TIMESTAMP WITH TIME ZONE NULL,
    last_ok          BOOLEAN NULL,
    last_counts      JSONB NOT NULL DEFAULT '{}',
    last_error       TEXT NULL,
    last_error_at    TIMESTAMP WITH TIME ZONE NULL
);

CREATE TABLE rebound_sessions (
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES rebound_users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX idx_rebound_sessions_user ON rebound_sessions(user_id);
CREATE INDEX idx_rebound_sessions_expires ON rebound_sessions(expires_at);
