-- With bounce.attribution = "strict", a bounce e-mail that carries no
-- evidence of a message rebound sent (no valid signed VERP token, no
-- returned X-Listmonk-Subscriber) is kept here, flagged, and acts on no
-- one; a retry of the unmatched bounces leaves it alone.
ALTER TABLE rebound_unmatched_bounces ADD COLUMN unverified INTEGER NOT NULL DEFAULT 0;
