-- Initial schema.
--
-- Times are Unix milliseconds UTC in BIGINT columns, so that the same query
-- text and the same Go conversions serve SQLite and PostgreSQL; NULL means
-- "never" (a token that does not expire, a repository not yet pushed to).
--
-- Case-insensitive uniqueness is kept in lower_* columns filled in by the
-- application rather than with COLLATE NOCASE, which PostgreSQL lacks.
--
-- AUTOINCREMENT keeps SQLite from reusing the id of a deleted row: token
-- caches and invalidations refer to rows by id, and a recycled id would make
-- an old reference point at a new row.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    login         TEXT    NOT NULL,
    lower_login   TEXT    NOT NULL,
    email         TEXT    NOT NULL DEFAULT '',
    lower_email   TEXT    NOT NULL DEFAULT '',
    name          TEXT    NOT NULL DEFAULT '',
    site_admin    BOOLEAN NOT NULL DEFAULT 0,
    suspended     BOOLEAN NOT NULL DEFAULT 0,
    password_hash TEXT    NOT NULL DEFAULT '',
    locale        TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

CREATE UNIQUE INDEX users_lower_login ON users (lower_login);

-- Users without an email are allowed, so the empty string is left out of
-- the uniqueness check.
CREATE UNIQUE INDEX users_lower_email ON users (lower_email) WHERE lower_email <> '';

CREATE TABLE repos (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    lower_name     TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    private        BOOLEAN NOT NULL DEFAULT 0,
    default_branch TEXT    NOT NULL DEFAULT '',
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    pushed_at      BIGINT,
    UNIQUE (owner_id, lower_name)
);

CREATE TABLE collaborators (
    repo_id    INTEGER NOT NULL REFERENCES repos (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permission INTEGER NOT NULL CHECK (permission BETWEEN 1 AND 3),
    PRIMARY KEY (repo_id, user_id)
);

-- Serves the Member and VisibleTo filters and the cascade from users.
CREATE INDEX collaborators_user ON collaborators (user_id);

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    note         TEXT    NOT NULL,
    scopes       TEXT    NOT NULL DEFAULT '',
    hash         TEXT    NOT NULL,
    last_eight   TEXT    NOT NULL DEFAULT '',
    expires_at   BIGINT,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    last_used_at BIGINT,
    last_used_ip TEXT    NOT NULL DEFAULT '',
    UNIQUE (user_id, note)
);

-- The one lookup on the authentication path.
CREATE UNIQUE INDEX tokens_hash ON tokens (hash);

-- token_id and user_id deliberately have no foreign keys: the row has to
-- outlive the token whose deletion it announces.
CREATE TABLE invalidations (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id INTEGER NOT NULL DEFAULT 0,
    user_id  INTEGER NOT NULL,
    at       BIGINT  NOT NULL
);

CREATE INDEX invalidations_at ON invalidations (at);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
