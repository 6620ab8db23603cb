-- Archived repositories, and the names renamed repositories leave behind.
--
-- archived_at is when the repository was archived (Unix milliseconds),
-- NULL while it is not: an archived repository is read-only.
--
-- repo_redirects keeps each name a repository had before a rename, so that
-- remotes and links that use it keep working, as GitHub redirects them.
-- A name redirects to one repository of its owner; creating a repository
-- of that name, or renaming one to it, removes the redirect (the store
-- does, in the same transaction). The redirects go with their repository
-- and with its owner.
ALTER TABLE repos ADD COLUMN archived_at BIGINT;

CREATE TABLE repo_redirects (
    owner_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lower_name TEXT    NOT NULL,
    repo_id    INTEGER NOT NULL REFERENCES repos (id) ON DELETE CASCADE,
    PRIMARY KEY (owner_id, lower_name)
);

-- The cascade from repos.
CREATE INDEX repo_redirects_repo ON repo_redirects (repo_id);
