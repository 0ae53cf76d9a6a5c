-- See the SQLite migration of the same name. Self-contained (no foreign keys
-- to listmonk's tables, TEXT with CHECKs instead of enum types), so these
-- tables can be copied beside listmonk's own.
CREATE TABLE IF NOT EXISTS rebound_suppressions (
    email         TEXT NOT NULL PRIMARY KEY CHECK (email = LOWER(email)),
    subscriber_id BIGINT NULL,
    type          TEXT NOT NULL CHECK (type IN ('soft', 'hard', 'complaint', 'manual')),
    action        TEXT NOT NULL CHECK (action IN ('unsubscribe', 'blocklist', 'delete', 'manual')),
    reason        TEXT NOT NULL DEFAULT '',
    source        TEXT NOT NULL DEFAULT '',
    first_seen    TIMESTAMPTZ NOT NULL,
    last_seen     TIMESTAMPTZ NOT NULL,
    count         BIGINT NOT NULL DEFAULT 0,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    reset_at      TIMESTAMPTZ NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_rebound_suppressions_updated ON rebound_suppressions(updated_at);
CREATE INDEX IF NOT EXISTS idx_rebound_unmatched_email ON rebound_unmatched_bounces(LOWER(email), type, created_at);

CREATE TABLE IF NOT EXISTS rebound_webhook_endpoints (
    id                   BIGSERIAL PRIMARY KEY,
    uuid                 TEXT NOT NULL UNIQUE,
    url                  TEXT NOT NULL,
    secret               TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    event_types          JSONB NOT NULL DEFAULT '["*"]',
    enabled              BOOLEAN NOT NULL DEFAULT TRUE,
    paused_at            TIMESTAMPTZ NULL,
    paused_reason        TEXT NULL,
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TABLE IF NOT EXISTS rebound_webhook_outbox (
    id               BIGSERIAL PRIMARY KEY,
    event_id         TEXT NOT NULL,
    endpoint_id      BIGINT NOT NULL,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    lease_owner      TEXT NULL,
    lease_until      TIMESTAMPTZ NULL,
    last_status_code INTEGER NULL,
    last_error       TEXT NULL,
    last_attempt_at  TIMESTAMPTZ NULL,
    delivered_at     TIMESTAMPTZ NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX IF NOT EXISTS idx_rebound_outbox_due ON rebound_webhook_outbox(status, next_attempt_at);
CREATE INDEX IF NOT EXISTS idx_rebound_outbox_endpoint ON rebound_webhook_outbox(endpoint_id, id);
