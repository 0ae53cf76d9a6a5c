-- Suppressions and outgoing event webhooks (docs/events.md). Self-contained:
-- no foreign keys to listmonk's tables, enum columns as TEXT with CHECKs, so
-- the same tables can live beside listmonk's own.

-- Every address that must not be mailed, and why; a reactivated address keeps
-- its row (active = 0) with `reset_at`, the point from which its bounces
-- count again, so an incremental sync (`?since=`) sees the removal.
CREATE TABLE rebound_suppressions (
    email         TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
    subscriber_id INTEGER NULL,
    type          TEXT NOT NULL CHECK (type IN ('soft', 'hard', 'complaint', 'manual')),
    action        TEXT NOT NULL CHECK (action IN ('unsubscribe', 'blocklist', 'delete', 'manual')),
    reason        TEXT NOT NULL DEFAULT '',
    source        TEXT NOT NULL DEFAULT '',
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    count         INTEGER NOT NULL DEFAULT 0,
    active        INTEGER NOT NULL DEFAULT 1,
    reset_at      TEXT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_rebound_suppressions_updated ON rebound_suppressions(updated_at);
-- Counting an unmatched address's bounces against the rules.
CREATE INDEX idx_rebound_unmatched_email ON rebound_unmatched_bounces(email COLLATE NOCASE, type, created_at);

-- Where events are delivered. `secret` is `whsec_` + base64 of the key.
CREATE TABLE rebound_webhook_endpoints (
    id                   INTEGER PRIMARY KEY,
    uuid                 TEXT NOT NULL UNIQUE,
    url                  TEXT NOT NULL,
    secret               TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    -- JSON array of event types; ["*"] is every type.
    event_types          TEXT NOT NULL DEFAULT '["*"]',
    enabled              INTEGER NOT NULL DEFAULT 1,
    paused_at            TEXT NULL,
    paused_reason        TEXT NULL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The outbox: one row per event and endpoint, written in the transaction
-- that stored what the event reports. `event_id` is the event's stable id
-- (the `webhook-id` header), the same for every endpoint and attempt.
CREATE TABLE rebound_webhook_outbox (
    id               INTEGER PRIMARY KEY,
    event_id         TEXT NOT NULL,
    endpoint_id      INTEGER NOT NULL,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    lease_owner      TEXT NULL,
    lease_until      TEXT NULL,
    last_status_code INTEGER NULL,
    last_error       TEXT NULL,
    last_attempt_at  TEXT NULL,
    delivered_at     TEXT NULL,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX idx_rebound_outbox_due ON rebound_webhook_outbox(status, next_attempt_at);
CREATE INDEX idx_rebound_outbox_endpoint ON rebound_webhook_outbox(endpoint_id, id);
