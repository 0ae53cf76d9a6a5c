-- Bounce mailboxes (POP3 / IMAP scanning).

-- Messages fetched from a bounce mailbox that were not recorded as bounces
-- (not a bounce, unparseable, no recipient to blame), kept with their raw
-- bytes (up to a cap) so an operator can look at them and nothing is lost
-- when the message is deleted from the server. One row per mailbox and
-- message content: a rescan after an interrupted scan does not add a copy.
CREATE TABLE rebound_mailbox_messages (
    id             INTEGER PRIMARY KEY,
    mailbox_uuid   TEXT NOT NULL,
    source         TEXT NOT NULL DEFAULT '',
    digest         TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('not_bounce', 'unparseable', 'parse_error', 'unattributed')),
    reason         TEXT NOT NULL DEFAULT '',
    meta           TEXT NOT NULL DEFAULT '{}',
    raw            BLOB NOT NULL,
    size           INTEGER NOT NULL DEFAULT 0,
    truncated      INTEGER NOT NULL DEFAULT 0,
    left_on_server INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (mailbox_uuid, digest)
);
CREATE INDEX idx_rebound_mailbox_messages_date ON rebound_mailbox_messages(created_at);

-- Messages whose outcome is durable, by the server's own id (POP3 UIDL,
-- IMAP UIDVALIDITY:UID), so a scan interrupted before the deletion took
-- effect removes them next time without fetching them again. Rows for
-- messages no longer on the server are pruned after each scan.
CREATE TABLE rebound_mailbox_handled (
    mailbox_uuid TEXT NOT NULL,
    message_key  TEXT NOT NULL,
    disposition  TEXT NOT NULL CHECK (disposition IN ('remove', 'leave')),
    handled_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (mailbox_uuid, message_key)
) WITHOUT ROWID;

-- Per mailbox: who scans it (a lease, so several rebound processes on one
-- database never scan the same mailbox at once) and how the last scan went.
CREATE TABLE rebound_mailbox_state (
    mailbox_uuid     TEXT PRIMARY KEY,
    label            TEXT NOT NULL DEFAULT '',
    lease_owner      TEXT NULL,
    lease_until      TEXT NULL,
    last_scan_at     TEXT NULL,
    last_finished_at TEXT NULL,
    last_ok          INTEGER NULL,
    last_counts      TEXT NOT NULL DEFAULT '{}',
    last_error       TEXT NULL,
    last_error_at    TEXT NULL
);
