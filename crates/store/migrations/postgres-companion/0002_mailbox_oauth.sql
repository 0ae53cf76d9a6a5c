-- See the standalone migrations' 0007_mailbox_oauth.sql.
ALTER TABLE rebound_mailbox_state ADD COLUMN oauth_issued_for TEXT NULL;
ALTER TABLE rebound_mailbox_state ADD COLUMN oauth_refresh_token TEXT NULL;
