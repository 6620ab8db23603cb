-- Organizations, their members and teams (SPEC §9).
--
-- An organization is a users row with is_org set, so that people and
-- organizations share one login namespace (users_lower_login) and a
-- repository has one kind of owner. Nobody signs in to an organization:
-- the check keeps it without a password and out of site administration,
-- whatever a caller of UpdateUser passes. An organization's contact email
-- is kept out of lower_email by the store, so it may repeat a person's
-- (typically the owner's) without taking it.
--
-- base_permission is what every member holds on the organization's
-- repositories: 0..3 as gatehouse.PermNone..PermAdmin, read by default as
-- on GitHub. Rows of people keep the default and the store ignores it.
ALTER TABLE users ADD COLUMN is_org BOOLEAN NOT NULL DEFAULT 0
    CHECK (NOT is_org OR (password_hash = '' AND NOT site_admin));
ALTER TABLE users ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN base_permission INTEGER NOT NULL DEFAULT 1
    CHECK (base_permission BETWEEN 0 AND 3);

-- ListOrgs, without walking the people.
CREATE INDEX users_orgs ON users (lower_login) WHERE is_org;

-- role is GitHub's: 'admin' is an owner. That org_id names an organization
-- and user_id a person is checked by the store (is_org never changes).
CREATE TABLE org_members (
    org_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CHECK (role IN ('member', 'admin')),
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (org_id, user_id)
);

-- A person's organizations (ListUserMemberships) and the cascade from users.
CREATE INDEX org_members_user ON org_members (user_id);

-- slug is lowercase and unique within the organization; (id, org_id) is
-- unique too so that team_members can refer to both at once.
CREATE TABLE teams (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    slug        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    privacy     TEXT    NOT NULL DEFAULT 'closed' CHECK (privacy IN ('closed', 'secret')),
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (org_id, slug),
    UNIQUE (id, org_id)
);

-- Only members of the organization may be in its teams. The second foreign
-- key makes the database keep that: removing a membership removes the
-- person's team memberships in the same statement, and a team membership
-- added while the organization membership is being removed waits for that
-- removal and then fails, instead of leaving a team member who is not a
-- member.
CREATE TABLE team_members (
    team_id INTEGER NOT NULL,
    org_id  INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    role    TEXT    NOT NULL CHECK (role IN ('member', 'maintainer')),
    PRIMARY KEY (team_id, user_id),
    FOREIGN KEY (team_id, org_id) REFERENCES teams (id, org_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, user_id) REFERENCES org_members (org_id, user_id) ON DELETE CASCADE
);

-- A person's teams: ListUserTeams, and the team grants that RepoGrants and
-- the VisibleTo and Member filters of ListRepos look for. With org_id
-- second it also serves the cascade from org_members.
CREATE INDEX team_members_user ON team_members (user_id, org_id);

-- A team's grant on one of its organization's repositories (the store
-- checks the owner), 1..3 as gatehouse.PermRead..PermAdmin like
-- collaborators.
CREATE TABLE team_repos (
    team_id    INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    repo_id    INTEGER NOT NULL REFERENCES repos (id) ON DELETE CASCADE,
    permission INTEGER NOT NULL CHECK (permission BETWEEN 1 AND 3),
    PRIMARY KEY (team_id, repo_id)
);

-- The grants on one repository (RepoGrants, ListRepos) and the cascade
-- from repos.
CREATE INDEX team_repos_repo ON team_repos (repo_id);
