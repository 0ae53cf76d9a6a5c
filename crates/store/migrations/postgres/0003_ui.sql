-- The web UI's login sessions. Only a SHA-256 of the session token is kept,
-- so a copy of the database does not let anyone log in; the CSRF token is the
-- synchronizer token every state-changing form must send back.
CREATE TABLE IF NOT EXISTS rebound_sessions (
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES rebound_users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_rebound_sessions_user ON rebound_sessions(user_id);
CREATE INDEX IF NOT EXISTS idx_rebound_sessions_expires ON rebound_sessions(expires_at);
