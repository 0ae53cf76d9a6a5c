-- Bounce mailboxes (POP3 / IMAP scanning). See the SQLite migration of the
-- same name for what each table is for.

CREATE TABLE IF NOT EXISTS rebound_mailbox_messages (
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
CREATE INDEX IF NOT EXISTS idx_rebound_mailbox_messages_date ON rebound_mailbox_messages(created_at);

CREATE TABLE IF NOT EXISTS rebound_mailbox_handled (
    mailbox_uuid UUID NOT NULL,
    message_key  TEXT NOT NULL,
    disposition  TEXT NOT NULL CHECK (disposition IN ('remove', 'leave')),
    handled_at   TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    PRIMARY KEY (mailbox_uuid, message_key)
);

CREATE TABLE IF NOT EXISTS rebound_mailbox_state (
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
