-- Web sessions.
--
-- id is the hex SHA-256 of the cookie secret, never the secret itself.
-- flash holds one sealed message for the next page (see gatehouse.Session).
CREATE TABLE web_sessions (
    id         TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf       TEXT   NOT NULL,
    sudo_until BIGINT,
    flash      BYTEA,
    ip         TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    seen_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
