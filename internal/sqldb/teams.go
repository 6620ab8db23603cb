package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// Team privacy values, GitHub's.
const (
	privacyClosed = "closed"
	privacySecret = "secret"
)

// teamFrom joins the organization so that every loaded team knows its
// login.
const (
	teamCols = `t.id, t.org_id, o.login, t.name, t.slug, t.description, t.privacy,
	t.created_at, t.updated_at`
	teamFrom = ` FROM teams t JOIN users o ON o.id = t.org_id`
)

func scanTeam(s scanner) (*gatehouse.Team, error) {
	var (
		t                gatehouse.Team
		created, updated sql.NullInt64
	)
	if err := s.Scan(&t.ID, &t.OrgID, &t.Org, &t.Name, &t.Slug, &t.Description, &t.Privacy,
		&created, &updated); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = fromMsec(created), fromMsec(updated)
	return &t, nil
}

// normTeam checks t's fields and brings them to their stored form: the
// slug lowercase, and from the name when empty (gatehouse.Slugify); the
// privacy "closed" when empty.
func normTeam(op string, t *gatehouse.Team) error {
	if strings.TrimSpace(t.Name) == "" {
		return gatehouse.E(op, gatehouse.Invalid, "team name is empty")
	}
	slug := strings.ToLower(t.Slug)
	if slug == "" {
		slug = gatehouse.Slugify(t.Name)
	}
	switch {
	case slug == "":
		return gatehouse.E(op, gatehouse.Invalid, "team name needs a letter or digit")
	case gatehouse.Slugify(slug) != slug:
		// Slugs are path segments (/orgs/{org}/teams/{team_slug}).
		return gatehouse.E(op, gatehouse.Invalid, "team slug may only hold letters, digits, '_' and single hyphens")
	}
	privacy := t.Privacy
	if privacy == "" {
		privacy = privacyClosed
	}
	if privacy != privacyClosed && privacy != privacySecret {
		return gatehouse.E(op, gatehouse.Invalid, "team privacy must be closed or secret")
	}
	t.Slug, t.Privacy = slug, privacy
	return nil
}

// CreateTeam inserts t, sets its ID, Org and times, and brings Slug and
// Privacy to their stored form (see normTeam). Returns NotFound when
// t.OrgID is not an organization, Conflict when the organization has a
// team with that slug, Invalid for an empty name or a malformed slug or
// privacy.
func (db *DB) CreateTeam(ctx context.Context, t *gatehouse.Team) error {
	const op = "create team"
	if err := normTeam(op, t); err != nil {
		return err
	}
	at := now()
	var (
		id  int64
		org string
	)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT login FROM users WHERE id = $1 AND is_org`, t.OrgID).Scan(&org)
		if errors.Is(err, sql.ErrNoRows) {
			return gatehouse.E(op, gatehouse.NotFound, "organization not found")
		}
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO teams
			(org_id, name, slug, description, privacy, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6)
			RETURNING id`,
			t.OrgID, t.Name, t.Slug, t.Description, t.Privacy, at.UnixMilli()).Scan(&id)
	})
	if err != nil {
		return db.fail(op, err, "organization not found")
	}
	t.ID, t.Org, t.CreatedAt, t.UpdatedAt = id, org, at, at
	return nil
}

// UpdateTeam saves name, slug, description and privacy, brought to their
// stored form as by CreateTeam, and sets UpdatedAt. Returns NotFound,
// Conflict, Invalid.
func (db *DB) UpdateTeam(ctx context.Context, t *gatehouse.Team) error {
	const op = "update team"
	if err := normTeam(op, t); err != nil {
		return err
	}
	at := now()
	res, err := db.db.ExecContext(ctx, `UPDATE teams SET
		name = $1, slug = $2, description = $3, privacy = $4, updated_at = $5
		WHERE id = $6`,
		t.Name, t.Slug, t.Description, t.Privacy, at.UnixMilli(), t.ID)
	if err == nil {
		err = affected(op, res, "team not found")
	}
	if err != nil {
		return db.fail(op, err, "")
	}
	t.UpdatedAt = at
	return nil
}

// DeleteTeam removes a team; its memberships and grants go with it through
// ON DELETE CASCADE. Returns NotFound.
func (db *DB) DeleteTeam(ctx context.Context, id int64) error {
	const op = "delete team"
	res, err := db.db.ExecContext(ctx, `DELETE FROM teams WHERE id = $1`, id)
	if err == nil {
		err = affected(op, res, "team not found")
	}
	if err != nil {
		return db.fail(op, err, "")
	}
	return nil
}

// FindTeam looks a team up by organization and slug, case-insensitively.
// Returns NotFound.
func (db *DB) FindTeam(ctx context.Context, orgID int64, slug string) (*gatehouse.Team, error) {
	const op = "find team"
	if !ascii(slug) {
		return nil, gatehouse.E(op, gatehouse.NotFound, "team not found")
	}
	t, err := scanTeam(db.db.QueryRowContext(ctx, `SELECT `+teamCols+teamFrom+`
		WHERE t.org_id = $1 AND t.slug = $2`, orgID, strings.ToLower(slug)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gatehouse.E(op, gatehouse.NotFound, "team not found")
	}
	if err != nil {
		return nil, db.fail(op, err, "")
	}
	return t, nil
}

// ListTeams returns the teams of orgID ordered by name, case-insensitively.
func (db *DB) ListTeams(ctx context.Context, orgID int64, page gatehouse.Page) ([]*gatehouse.Team, error) {
	return queryAll(ctx, db, "list teams", scanTeam, `SELECT `+teamCols+teamFrom+`
		WHERE t.org_id = $1
		ORDER BY LOWER(t.name), t.id LIMIT $2 OFFSET $3`,
		orgID, page.Limit(), page.Offset())
}

// ListUserTeams returns the teams userID belongs to, in every
// organization, ordered by organization login and team name.
func (db *DB) ListUserTeams(ctx context.Context, userID int64, page gatehouse.Page) ([]*gatehouse.Team, error) {
	return queryAll(ctx, db, "list user teams", scanTeam, `SELECT `+teamCols+teamFrom+`
		JOIN team_members tm ON tm.team_id = t.id
		WHERE tm.user_id = $1
		ORDER BY o.lower_login, LOWER(t.name), t.id LIMIT $2 OFFSET $3`,
		userID, page.Limit(), page.Offset())
}

// SetTeamMembership adds userID to the team with role, or changes the
// role. Returns NotFound when the team or the user does not exist, Invalid
// for an unknown role, an organization, or a user who is not a member of
// the team's organization. The schema keeps that last rule as well (a
// foreign key from team_members to org_members), so a membership removed
// at the same moment cannot leave a team member behind.
func (db *DB) SetTeamMembership(ctx context.Context, teamID, userID int64, role gatehouse.TeamRole) error {
	const op = "set team membership"
	if role != gatehouse.TeamMember && role != gatehouse.TeamMaintainer {
		return gatehouse.E(op, gatehouse.Invalid, "unknown team role")
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		orgID, err := teamOrg(ctx, tx, op, teamID)
		if err != nil {
			return err
		}
		if err := checkPerson(ctx, tx, op, userID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx,
			`SELECT COUNT(*) FROM org_members WHERE org_id = $1 AND user_id = $2`,
			orgID, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return gatehouse.E(op, gatehouse.Invalid, "must be a member of the organization")
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO team_members (team_id, org_id, user_id, role)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role`,
			teamID, orgID, userID, string(role))
		return err
	})
	if err != nil {
		// Only a concurrent removal of the team or the membership gets
		// past the checks to the foreign keys.
		return db.fail(op, err, "team or organization membership not found")
	}
	return nil
}

// teamOrg returns the organization of the team, NotFound when there is no
// such team.
func teamOrg(ctx context.Context, q querier, op string, teamID int64) (int64, error) {
	var orgID int64
	err := q.QueryRowContext(ctx, `SELECT org_id FROM teams WHERE id = $1`, teamID).Scan(&orgID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, gatehouse.E(op, gatehouse.NotFound, "team not found")
	}
	return orgID, err
}

// RemoveTeamMembership removes userID from the team. Returns NotFound when
// userID is not a member.
func (db *DB) RemoveTeamMembership(ctx context.Context, teamID, userID int64) error {
	const op = "remove team membership"
	res, err := db.db.ExecContext(ctx,
		`DELETE FROM team_members WHERE team_id = $1 AND user_id = $2`, teamID, userID)
	if err == nil {
		err = affected(op, res, "not a member of the team")
	}
	if err != nil {
		return db.fail(op, err, "")
	}
	return nil
}

// TeamMembership returns userID's role in the team, or "" when none.
func (db *DB) TeamMembership(ctx context.Context, teamID, userID int64) (gatehouse.TeamRole, error) {
	var role string
	err := db.db.QueryRowContext(ctx,
		`SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2`, teamID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", db.fail("find team membership", err, "")
	}
	return gatehouse.TeamRole(role), nil
}

// ListTeamMembers returns the team's members ordered by login.
func (db *DB) ListTeamMembers(ctx context.Context, teamID int64, page gatehouse.Page) ([]gatehouse.TeamMembership, error) {
	return queryAll(ctx, db, "list team members", func(s scanner) (gatehouse.TeamMembership, error) {
		var role string
		u, err := scanUser(s, &role)
		if err != nil {
			return gatehouse.TeamMembership{}, err
		}
		return gatehouse.TeamMembership{User: u, Role: gatehouse.TeamRole(role)}, nil
	}, `SELECT `+userCols+`, tm.role
		FROM team_members tm JOIN users u ON u.id = tm.user_id
		WHERE tm.team_id = $1
		ORDER BY u.lower_login LIMIT $2 OFFSET $3`,
		teamID, page.Limit(), page.Offset())
}

// SetTeamRepo grants the team p on the repository, replacing an earlier
// grant; PermNone removes the grant, and removing one that is not there is
// no error. Returns NotFound when the team or the repository does not
// exist, Invalid for an unknown permission or a repository that the team's
// organization does not own.
func (db *DB) SetTeamRepo(ctx context.Context, teamID, repoID int64, p gatehouse.Permission) error {
	const op = "set team repository"
	if !validPermission(p) {
		return gatehouse.E(op, gatehouse.Invalid, "unknown permission")
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		orgID, err := teamOrg(ctx, tx, op, teamID)
		if err != nil {
			return err
		}
		var ownerID int64
		err = tx.QueryRowContext(ctx, `SELECT owner_id FROM repos WHERE id = $1`, repoID).Scan(&ownerID)
		if errors.Is(err, sql.ErrNoRows) {
			return gatehouse.E(op, gatehouse.NotFound, "repository not found")
		}
		if err != nil {
			return err
		}
		if p == gatehouse.PermNone {
			_, err := tx.ExecContext(ctx,
				`DELETE FROM team_repos WHERE team_id = $1 AND repo_id = $2`, teamID, repoID)
			return err
		}
		if ownerID != orgID {
			return gatehouse.E(op, gatehouse.Invalid, "the repository does not belong to the team's organization")
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO team_repos (team_id, repo_id, permission)
			VALUES ($1, $2, $3)
			ON CONFLICT (team_id, repo_id) DO UPDATE SET permission = excluded.permission`,
			teamID, repoID, int(p))
		return err
	})
	if err != nil {
		return db.fail(op, err, "team or repository not found")
	}
	return nil
}

// TeamRepoPermission returns the team's grant on the repository, or
// PermNone.
func (db *DB) TeamRepoPermission(ctx context.Context, teamID, repoID int64) (gatehouse.Permission, error) {
	var p int
	err := db.db.QueryRowContext(ctx,
		`SELECT permission FROM team_repos WHERE team_id = $1 AND repo_id = $2`, teamID, repoID).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.PermNone, nil
	}
	if err != nil {
		return gatehouse.PermNone, db.fail("find team repository", err, "")
	}
	return gatehouse.Permission(p), nil
}

// ListTeamRepos returns the team's grants ordered by repository owner and
// name.
func (db *DB) ListTeamRepos(ctx context.Context, teamID int64, page gatehouse.Page) ([]gatehouse.TeamRepo, error) {
	return queryAll(ctx, db, "list team repositories", func(s scanner) (gatehouse.TeamRepo, error) {
		var p int
		r, err := scanRepo(s, &p)
		if err != nil {
			return gatehouse.TeamRepo{}, err
		}
		return gatehouse.TeamRepo{Repo: r, Permission: gatehouse.Permission(p)}, nil
	}, `SELECT `+repoCols+`, tr.permission`+repoFrom+`
		JOIN team_repos tr ON tr.repo_id = r.id
		WHERE tr.team_id = $1
		ORDER BY u.lower_login, r.lower_name LIMIT $2 OFFSET $3`,
		teamID, page.Limit(), page.Offset())
}
