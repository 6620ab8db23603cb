-- Audit log: token events and failed authentications (gatehouse.AuditEvent).
--
-- Rows outlive the users and tokens they name, so nothing here references
-- another table; 0 means none (the system or an anonymous client, no
-- account, no token). No column ever holds a secret: a token is named by
-- its id, note and last eight characters.
CREATE TABLE audit_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    action   TEXT    NOT NULL,
    actor_id BIGINT  NOT NULL DEFAULT 0,
    user_id  BIGINT  NOT NULL DEFAULT 0,
    token_id BIGINT  NOT NULL DEFAULT 0,
    note     TEXT    NOT NULL DEFAULT '',
    detail   TEXT    NOT NULL DEFAULT '',
    ip       TEXT    NOT NULL DEFAULT '',
    at       BIGINT  NOT NULL
);

-- A user's security log reads its newest rows first.
CREATE INDEX audit_events_user ON audit_events (user_id, id);
