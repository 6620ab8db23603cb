package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// repoFrom joins the owner so that every loaded repository knows its
// owner's login, which URLs and FullName need.
const (
	repoCols = `r.id, r.owner_id, u.login, r.name, r.description, r.private,
	r.default_branch, r.created_at, r.updated_at, r.pushed_at, r.archived_at`
	repoFrom = ` FROM repos r JOIN users u ON u.id = r.owner_id`
)

// scanRepo reads the repoCols of a row, then the extra columns after them.
func scanRepo(s scanner, extra ...any) (*gatehouse.Repo, error) {
	var (
		r                                  gatehouse.Repo
		created, updated, pushed, archived sql.NullInt64
	)
	dest := []any{&r.ID, &r.OwnerID, &r.Owner, &r.Name, &r.Description, &r.Private,
		&r.DefaultBranch, &created, &updated, &pushed, &archived}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	r.CreatedAt, r.UpdatedAt, r.PushedAt = fromMsec(created), fromMsec(updated), fromMsec(pushed)
	r.ArchivedAt = fromMsec(archived)
	return &r, nil
}

// CreateRepo inserts r, sets its ID and times and fills in Owner. A
// redirect from the name (a repository renamed away from it) goes: the new
// repository takes the name.
func (db *DB) CreateRepo(ctx context.Context, r *gatehouse.Repo) error {
	const op = "create repository"
	t := now()
	var (
		id    int64
		owner string
	)
	lower := strings.ToLower(r.Name)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO repos
			(owner_id, name, lower_name, description, private, default_branch,
			 created_at, updated_at, pushed_at, archived_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9)
			RETURNING id`,
			r.OwnerID, r.Name, lower, r.Description, r.Private,
			r.DefaultBranch, t.UnixMilli(), msec(r.PushedAt), msec(r.ArchivedAt)).Scan(&id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM repo_redirects WHERE owner_id = $1 AND lower_name = $2`,
			r.OwnerID, lower); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT login FROM users WHERE id = $1`, r.OwnerID).Scan(&owner)
	})
	if err != nil {
		return db.fail(op, err, "owner not found")
	}
	r.ID, r.Owner, r.CreatedAt, r.UpdatedAt = id, owner, t, t
	r.PushedAt, r.ArchivedAt = norm(r.PushedAt), norm(r.ArchivedAt)
	return nil
}

// UpdateRepo saves description, private, default branch and pushed at, and
// sets UpdatedAt.
func (db *DB) UpdateRepo(ctx context.Context, r *gatehouse.Repo) error {
	const op = "update repository"
	t := now()
	res, err := db.db.ExecContext(ctx, `UPDATE repos SET
		description = $1, private = $2, default_branch = $3, pushed_at = $4, updated_at = $5
		WHERE id = $6`,
		r.Description, r.Private, r.DefaultBranch, msec(r.PushedAt), t.UnixMilli(), r.ID)
	if err == nil {
		err = affected(op, res, "repository not found")
	}
	if err != nil {
		return db.fail(op, err, "")
	}
	r.UpdatedAt, r.PushedAt = t, norm(r.PushedAt)
	return nil
}

// ArchiveRepo sets archived_at (NULL for the zero time) and updated_at,
// and nothing else.
func (db *DB) ArchiveRepo(ctx context.Context, id int64, at time.Time) error {
	const op = "archive repository"
	res, err := db.db.ExecContext(ctx, `UPDATE repos SET archived_at = $1, updated_at = $2 WHERE id = $3`,
		msec(at), now().UnixMilli(), id)
	if err == nil {
		err = affected(op, res, "repository not found")
	}
	if err != nil {
		return db.fail(op, err, "")
	}
	return nil
}

// RenameRepo renames the repository and keeps its old name as a redirect,
// in one transaction: the redirect from the new name (if another rename
// left one) goes, the row takes the name (the unique constraint refuses a
// name the owner already uses), and the old name redirects here. A change
// of case only leaves no redirect: lookups ignore case anyway.
func (db *DB) RenameRepo(ctx context.Context, id int64, name string) error {
	const op = "rename repository"
	lower := strings.ToLower(name)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var (
			owner    int64
			oldLower string
		)
		err := tx.QueryRowContext(ctx, `SELECT owner_id, lower_name FROM repos WHERE id = $1`, id).Scan(&owner, &oldLower)
		if errors.Is(err, sql.ErrNoRows) {
			return gatehouse.E(op, gatehouse.NotFound, "repository not found")
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM repo_redirects WHERE owner_id = $1 AND lower_name = $2`,
			owner, lower); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE repos SET name = $1, lower_name = $2, updated_at = $3 WHERE id = $4`,
			name, lower, now().UnixMilli(), id); err != nil {
			return err
		}
		if oldLower == lower {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO repo_redirects (owner_id, lower_name, repo_id)
			VALUES ($1, $2, $3)
			ON CONFLICT (owner_id, lower_name) DO UPDATE SET repo_id = excluded.repo_id`,
			owner, oldLower, id)
		return err
	})
	if err != nil {
		return db.fail(op, err, "")
	}
	return nil
}

// DeleteRepo removes the repository; its collaborators and redirects go
// with it through ON DELETE CASCADE.
func (db *DB) DeleteRepo(ctx context.Context, id int64) error {
	const op = "delete repository"
	res, err := db.db.ExecContext(ctx, `DELETE FROM repos WHERE id = $1`, id)
	if err == nil {
		err = affected(op, res, "repository not found")
	}
	if err != nil {
		return db.fail(op, err, "")
	}
	return nil
}

// FindRepo looks a repository up by owner login and name,
// case-insensitively, then, when no repository has the name, among the
// names renamed repositories left (a second indexed lookup, on misses
// only).
func (db *DB) FindRepo(ctx context.Context, owner, name string) (*gatehouse.Repo, error) {
	if !ascii(owner) || !ascii(name) {
		return nil, gatehouse.E("find repository", gatehouse.NotFound, "repository not found")
	}
	owner, name = strings.ToLower(owner), strings.ToLower(name)
	r, err := db.findRepo(ctx, `u.lower_login = $1 AND r.lower_name = $2`, owner, name)
	if !gatehouse.IsKind(err, gatehouse.NotFound) {
		return r, err
	}
	return db.scanOneRepo(ctx, `SELECT `+repoCols+` FROM repo_redirects rr
		JOIN repos r ON r.id = rr.repo_id JOIN users u ON u.id = r.owner_id
		WHERE u.lower_login = $1 AND rr.owner_id = u.id AND rr.lower_name = $2`, owner, name)
}

// FindRepoByID returns NotFound when there is no such repository.
func (db *DB) FindRepoByID(ctx context.Context, id int64) (*gatehouse.Repo, error) {
	return db.findRepo(ctx, `r.id = $1`, id)
}

func (db *DB) findRepo(ctx context.Context, where string, args ...any) (*gatehouse.Repo, error) {
	return db.scanOneRepo(ctx, `SELECT `+repoCols+repoFrom+` WHERE `+where, args...)
}

// scanOneRepo runs a query for at most one repository's repoCols.
func (db *DB) scanOneRepo(ctx context.Context, q string, args ...any) (*gatehouse.Repo, error) {
	const op = "find repository"
	r, err := scanRepo(db.db.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gatehouse.E(op, gatehouse.NotFound, "repository not found")
	}
	if err != nil {
		return nil, db.fail(op, err, "")
	}
	return r, nil
}

// hasAccess is the condition, on a row of repoFrom, that the user whose id
// is the placeholder p reaches the repository other than by its being
// public: by owning it, as a collaborator, through a team, or as a member
// of the organization that owns it (an owner always, a member when the
// base permission is not none; u is the owner's row). Each test is an
// indexed lookup: collaborators and team_repos by their primary key or
// repo_id, team_members and org_members by their primary keys.
func hasAccess(p string) string {
	return `(r.owner_id = ` + p + `
		OR EXISTS (SELECT 1 FROM collaborators c WHERE c.repo_id = r.id AND c.user_id = ` + p + `)
		OR EXISTS (SELECT 1 FROM team_repos tr JOIN team_members tm ON tm.team_id = tr.team_id
			WHERE tr.repo_id = r.id AND tm.user_id = ` + p + `)
		OR EXISTS (SELECT 1 FROM org_members om
			WHERE om.org_id = r.owner_id AND om.user_id = ` + p + `
			AND (om.role = 'admin' OR u.base_permission > 0)))`
}

// ListRepos returns repositories matching f ordered by owner login and name.
func (db *DB) ListRepos(ctx context.Context, f gatehouse.RepoFilter, page gatehouse.Page) ([]*gatehouse.Repo, error) {
	const op = "list repositories"
	var (
		where []string
		args  []any
	)
	// arg adds a parameter and returns its placeholder; a placeholder may
	// appear more than once in the query.
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.OwnerID != 0 {
		where = append(where, `r.owner_id = `+arg(f.OwnerID))
	}
	if f.PublicOnly {
		where = append(where, `NOT r.private`)
	}
	if f.PrivateOnly {
		where = append(where, `r.private`)
	}
	if f.VisibleTo != 0 {
		where = append(where, `(NOT r.private OR `+hasAccess(arg(f.VisibleTo))+`)`)
	}
	if f.Member != 0 {
		where = append(where, hasAccess(arg(f.Member)))
	}
	if f.LimitPrivate {
		// What a fine-grained token reaches: its resource owner's private
		// repositories, the selected ones when it selects.
		var reach string
		if f.PrivateIDs != nil && len(f.PrivateIDs) == 0 {
			reach = `FALSE` // no placeholder: PostgreSQL must type every one
		} else {
			reach = `r.owner_id = ` + arg(f.PrivateOwnerID)
		}
		if len(f.PrivateIDs) > 0 {
			// Always MaxSelectedRepos placeholders, the last id repeated,
			// so that the query's text is one and its statement prepared
			// once, whatever the selection's size.
			sel := f.PrivateIDs[:min(len(f.PrivateIDs), gatehouse.MaxSelectedRepos)]
			ids := make([]string, 0, gatehouse.MaxSelectedRepos)
			for i := range gatehouse.MaxSelectedRepos {
				ids = append(ids, arg(sel[min(i, len(sel)-1)]))
			}
			reach += ` AND r.id IN (` + strings.Join(ids, `, `) + `)`
		}
		where = append(where, `(NOT r.private OR (`+reach+`))`)
	}
	if f.TokenKindSet {
		restrict, max := `p.restrict_classic`, `p.max_classic_days`
		if f.TokenKind == gatehouse.FineGrainedToken {
			restrict, max = `p.restrict_fine_grained`, `p.max_fine_grained_days`
		}
		life := arg(f.TokenLifetime)
		where = append(where, `NOT (r.private AND EXISTS (SELECT 1 FROM org_token_policies p
			WHERE p.org_id = r.owner_id AND (`+restrict+` OR (`+max+` > 0 AND (`+life+` < 0 OR `+life+` > `+max+`)))))`)
	}
	q := `SELECT ` + repoCols + repoFrom
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY u.lower_login, r.lower_name LIMIT ` + arg(page.Limit()) + ` OFFSET ` + arg(page.Offset())
	return queryAll(ctx, db, op, func(s scanner) (*gatehouse.Repo, error) { return scanRepo(s) }, q, args...)
}

// SetCollaborator grants the user the permission on the repository,
// replacing an earlier grant; PermNone removes the grant.
func (db *DB) SetCollaborator(ctx context.Context, repoID, userID int64, p gatehouse.Permission) error {
	const op = "set collaborator"
	if p < gatehouse.PermNone || p > gatehouse.PermAdmin {
		return gatehouse.E(op, gatehouse.Invalid, "unknown permission")
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if p == gatehouse.PermNone {
			res, err := tx.ExecContext(ctx,
				`DELETE FROM collaborators WHERE repo_id = $1 AND user_id = $2`, repoID, userID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n > 0 {
				return err
			}
			// Nothing to remove: still tell the caller when it named
			// a repository or user that does not exist.
			return checkRepoAndUser(ctx, tx, op, repoID, userID)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO collaborators (repo_id, user_id, permission)
			VALUES ($1, $2, $3)
			ON CONFLICT (repo_id, user_id) DO UPDATE SET permission = excluded.permission`,
			repoID, userID, int(p))
		return err
	})
	if class, _ := db.d.classify(err); class == classForeignKey {
		// The driver does not say which reference failed, so look. This
		// runs after the rollback: PostgreSQL refuses further statements
		// in a failed transaction.
		if e := checkRepoAndUser(ctx, db.db, op, repoID, userID); e != nil {
			return db.fail(op, e, "")
		}
	}
	if err != nil {
		return db.fail(op, err, "repository or user not found")
	}
	return nil
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkRepoAndUser returns NotFound naming whichever of the two is missing.
func checkRepoAndUser(ctx context.Context, tx querier, op string, repoID, userID int64) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM repos WHERE id = $1`, repoID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return gatehouse.E(op, gatehouse.NotFound, "repository not found")
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE id = $1`, userID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return gatehouse.E(op, gatehouse.NotFound, "user not found")
	}
	return nil
}

// Collaborator returns the user's explicit grant on the repository, or
// PermNone.
func (db *DB) Collaborator(ctx context.Context, repoID, userID int64) (gatehouse.Permission, error) {
	var p int
	err := db.db.QueryRowContext(ctx,
		`SELECT permission FROM collaborators WHERE repo_id = $1 AND user_id = $2`,
		repoID, userID).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.PermNone, nil
	}
	if err != nil {
		return gatehouse.PermNone, db.fail("find collaborator", err, "")
	}
	return gatehouse.Permission(p), nil
}

// ListCollaborators returns the explicit grants on a repository ordered by
// login.
func (db *DB) ListCollaborators(ctx context.Context, repoID int64) ([]gatehouse.Collaborator, error) {
	const op = "list collaborators"
	rows, err := db.db.QueryContext(ctx, `SELECT `+userCols+`, c.permission
		FROM collaborators c JOIN users u ON u.id = c.user_id
		WHERE c.repo_id = $1
		ORDER BY u.lower_login`, repoID)
	if err != nil {
		return nil, db.fail(op, err, "")
	}
	defer rows.Close()
	out := []gatehouse.Collaborator{}
	for rows.Next() {
		var p int
		u, err := scanUser(rows, &p)
		if err != nil {
			return nil, db.fail(op, err, "")
		}
		out = append(out, gatehouse.Collaborator{User: u, Permission: gatehouse.Permission(p)})
	}
	if err := rows.Err(); err != nil {
		return nil, db.fail(op, err, "")
	}
	return out, nil
}
