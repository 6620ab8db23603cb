-- SSH public keys (GET/POST/DELETE /user/keys). A key identifies one user
-- on the whole instance, so its fingerprint is unique across users.

CREATE TABLE keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title        TEXT    NOT NULL DEFAULT '',
    key          TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT
);

CREATE UNIQUE INDEX keys_fingerprint ON keys (fingerprint);
CREATE INDEX keys_user ON keys (user_id);
