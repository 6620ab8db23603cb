-- Token expiry reminders that were sent, or claimed by a node about to send
-- them.
--
-- The key includes expires_at so that regenerating a token, which gives it
-- a new expiry, makes its reminders due again. A row with sent_at NULL is a
-- claim; a claim older than a few minutes belongs to a node that stopped
-- before sending and may be taken over.
CREATE TABLE token_reminders (
    token_id   BIGINT  NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    expires_at BIGINT  NOT NULL,
    kind       TEXT    NOT NULL,
    claimed_at BIGINT  NOT NULL,
    sent_at    BIGINT,
    PRIMARY KEY (token_id, expires_at, kind)
);

-- Pruning by expiry.
CREATE INDEX token_reminders_expires ON token_reminders (expires_at);

-- The reminder job looks for tokens by expiry.
CREATE INDEX tokens_expires ON tokens (expires_at) WHERE expires_at IS NOT NULL;
