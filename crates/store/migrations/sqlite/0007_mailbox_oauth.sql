-- OAuth2 mailboxes: the refresh token a provider rotated to (Microsoft
-- hands out a new one with each access token), with what it was issued
-- for (a digest of the refresh token in the settings), so a token the
-- operator authorizes anew replaces it.
ALTER TABLE rebound_mailbox_state ADD COLUMN oauth_issued_for TEXT NULL;
ALTER TABLE rebound_mailbox_state ADD COLUMN oauth_refresh_token TEXT NULL;
