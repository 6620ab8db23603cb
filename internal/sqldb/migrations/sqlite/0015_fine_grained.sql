-- Fine-grained personal access tokens and organizations' token policies
-- (SPEC §10.4).
--
-- A fine-grained token is a tokens row with kind 'fine_grained'; every row
-- stored before is classic (kind ''), and the defaults below leave it
-- exactly as it was. note is the name of either kind, so one user's tokens
-- of both kinds share one namespace (UNIQUE (user_id, note)).
--
-- target_id is the resource owner, the user or the one organization the
-- token reaches; the token goes with it. repos is the repository access
-- ('public', 'all', 'selected'), the selection itself in token_repos.
-- permissions is "name:read name:write ...", sorted by name, written and
-- read by the store as a whole; metadata, which every fine-grained token
-- has read-only, is never stored. approval is where the token stands with
-- the organization it targets: '' approved (also every token that needs no
-- approval), 'pending' or 'denied', with the reviewing owner, the time and
-- the reason. reviewer_id has no foreign key: the review outlives the
-- reviewer, as the audit log does, and ids are never reused.
--
-- The last column's check keeps both kinds apart whatever a writer passes:
-- a classic token has none of the fine-grained fields, a fine-grained one
-- has a resource owner and a known repository access. (SQLite takes a
-- check on another column only as part of a column definition.)
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT ''
    CHECK (kind IN ('', 'fine_grained'));
ALTER TABLE tokens ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN target_id INTEGER REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE tokens ADD COLUMN repos TEXT NOT NULL DEFAULT ''
    CHECK (repos IN ('', 'public', 'all', 'selected'));
ALTER TABLE tokens ADD COLUMN permissions TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN approval TEXT NOT NULL DEFAULT ''
    CHECK (approval IN ('', 'pending', 'denied'));
ALTER TABLE tokens ADD COLUMN reviewer_id INTEGER;
ALTER TABLE tokens ADD COLUMN reviewed_at BIGINT;
ALTER TABLE tokens ADD COLUMN review_reason TEXT NOT NULL DEFAULT ''
    CHECK (CASE kind
        WHEN 'fine_grained' THEN target_id IS NOT NULL AND repos <> '' AND scopes = ''
        ELSE target_id IS NULL AND repos = '' AND permissions = '' AND description = ''
            AND approval = '' AND reviewer_id IS NULL AND reviewed_at IS NULL
            AND review_reason = ''
    END);

-- The tokens that target an account (TokenFilter.TargetID: an
-- organization's requests and grants) and the cascade from users. Classic
-- tokens, the most, stay out of it.
CREATE INDEX tokens_target ON tokens (target_id) WHERE target_id IS NOT NULL;

-- The repositories a token with repos 'selected' reaches; the store checks
-- that they belong to its resource owner. A deleted repository leaves
-- every selection (ids are never reused, so a cached selection that still
-- names it reaches nothing).
CREATE TABLE token_repos (
    token_id INTEGER NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    repo_id  INTEGER NOT NULL REFERENCES repos (id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, repo_id)
);

-- The cascade from repos.
CREATE INDEX token_repos_repo ON token_repos (repo_id);

-- An organization's personal access token policy; no row means
-- gatehouse.DefaultTokenPolicy (both kinds allowed, approval required, no
-- lifetime bound), so that organizations created before keep GitHub's
-- defaults. The max_*_days columns are a token's longest lifetime in days,
-- 0 for no bound.
CREATE TABLE org_token_policies (
    org_id                INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    restrict_classic      BOOLEAN NOT NULL DEFAULT 0,
    restrict_fine_grained BOOLEAN NOT NULL DEFAULT 0,
    require_approval      BOOLEAN NOT NULL DEFAULT 1,
    max_classic_days      INTEGER NOT NULL DEFAULT 0 CHECK (max_classic_days >= 0),
    max_fine_grained_days INTEGER NOT NULL DEFAULT 0 CHECK (max_fine_grained_days >= 0)
);
