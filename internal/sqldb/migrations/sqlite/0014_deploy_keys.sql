-- Deploy keys (GET/POST/DELETE /repos/{owner}/{repo}/keys, SPEC §11) and
-- one fingerprint namespace for every SSH key of the instance.
--
-- A deploy key opens one repository to a machine; it goes with its
-- repository. read_only is the default a caller of the store cannot
-- forget: a key that may push has to be asked for.
CREATE TABLE deploy_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id      INTEGER NOT NULL REFERENCES repos (id) ON DELETE CASCADE,
    title        TEXT    NOT NULL DEFAULT '',
    key          TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    read_only    BOOLEAN NOT NULL DEFAULT 1,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT
);

CREATE UNIQUE INDEX deploy_keys_fingerprint ON deploy_keys (fingerprint);
CREATE INDEX deploy_keys_repo ON deploy_keys (repo_id);

-- A key identifies one holder on the whole instance: a user (keys) or a
-- repository (deploy_keys), never both and never two. Each table keeps its
-- own fingerprints unique; key_fingerprints holds those of both, claimed
-- and released by the triggers below in the statement that inserts or
-- deletes the key (cascades included), so that no writer, however it
-- reaches the tables, can give one key two holders. Keys are never
-- updated in place.
CREATE TABLE key_fingerprints (
    fingerprint TEXT PRIMARY KEY
);

INSERT INTO key_fingerprints (fingerprint) SELECT fingerprint FROM keys;

CREATE TRIGGER keys_claim_fingerprint AFTER INSERT ON keys
BEGIN
    INSERT INTO key_fingerprints (fingerprint) VALUES (NEW.fingerprint);
END;

CREATE TRIGGER keys_release_fingerprint AFTER DELETE ON keys
BEGIN
    DELETE FROM key_fingerprints WHERE fingerprint = OLD.fingerprint;
END;

CREATE TRIGGER deploy_keys_claim_fingerprint AFTER INSERT ON deploy_keys
BEGIN
    INSERT INTO key_fingerprints (fingerprint) VALUES (NEW.fingerprint);
END;

CREATE TRIGGER deploy_keys_release_fingerprint AFTER DELETE ON deploy_keys
BEGIN
    DELETE FROM key_fingerprints WHERE fingerprint = OLD.fingerprint;
END;
