package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/gatehouse/gatehouse"
)

const userCols = `u.id, u.login, u.email, u.name, u.site_admin, u.suspended,
	u.password_hash, u.locale, u.is_org, u.description, u.base_permission,
	u.created_at, u.updated_at`

// orgCols are the userCols of a second users row joined as o, for listings
// that return an organization beside a person.
var orgCols = strings.ReplaceAll(userCols, "u.", "o.")

// userScan receives the userCols of one row, so that a row may carry two
// users (an organization and a member).
type userScan struct {
	u                gatehouse.User
	base             int
	created, updated sql.NullInt64
}

// dest returns the scan destinations of userCols, in order.
func (us *userScan) dest() []any {
	u := &us.u
	return []any{&u.ID, &u.Login, &u.Email, &u.Name, &u.SiteAdmin, &u.Suspended,
		&u.PasswordHash, &u.Locale, &u.IsOrg, &u.Description, &us.base, &us.created, &us.updated}
}

// user returns the scanned user.
func (us *userScan) user() *gatehouse.User {
	u := us.u
	// Every row has a base permission (the column's default), but only an
	// organization has members it applies to.
	if u.IsOrg {
		u.BasePermission = gatehouse.Permission(us.base)
	}
	u.CreatedAt, u.UpdatedAt = fromMsec(us.created), fromMsec(us.updated)
	return &u
}

// scanUser reads the userCols of a row, then the extra columns after them.
func scanUser(s scanner, extra ...any) (*gatehouse.User, error) {
	var us userScan
	if err := s.Scan(append(us.dest(), extra...)...); err != nil {
		return nil, err
	}
	return us.user(), nil
}

// CreateUser inserts u and sets its ID, CreatedAt and UpdatedAt. It
// always creates a person: organizations come from CreateOrg, which also
// gives them their first owner, so u.IsOrg is refused rather than ignored.
// Description and BasePermission belong to organizations and are not
// stored.
func (db *DB) CreateUser(ctx context.Context, u *gatehouse.User) error {
	const op = "create user"
	if u.IsOrg {
		return gatehouse.E(op, gatehouse.Invalid, "organizations are created with an owner (CreateOrg)")
	}
	t := now()
	var id int64
	err := db.db.QueryRowContext(ctx, `INSERT INTO users
		(login, lower_login, email, lower_email, name, site_admin, suspended,
		 password_hash, locale, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
		RETURNING id`,
		u.Login, strings.ToLower(u.Login), u.Email, strings.ToLower(u.Email), u.Name,
		u.SiteAdmin, u.Suspended, u.PasswordHash, u.Locale, t.UnixMilli()).Scan(&id)
	if err != nil {
		return db.fail(op, err, "")
	}
	u.ID, u.CreatedAt, u.UpdatedAt = id, t, t
	return nil
}

// UpdateUser saves the mutable fields of u, sets UpdatedAt and records an
// invalidation for all of the user's tokens, since a suspension or a
// demotion must reach every cached credential.
//
// is_org is not among the fields: an account never changes between person
// and organization. On an organization's row the email is saved without
// taking part in email uniqueness (see CreateOrg), and the schema refuses
// a password or site administration (Invalid).
func (db *DB) UpdateUser(ctx context.Context, u *gatehouse.User) error {
	const op = "update user"
	t := now()
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET
			email = $1, lower_email = CASE WHEN is_org THEN '' ELSE $2 END,
			name = $3, site_admin = $4, suspended = $5,
			password_hash = $6, locale = $7, updated_at = $8
			WHERE id = $9`,
			u.Email, strings.ToLower(u.Email), u.Name, u.SiteAdmin, u.Suspended,
			u.PasswordHash, u.Locale, t.UnixMilli(), u.ID)
		if err != nil {
			return err
		}
		if err := affected(op, res, "user not found"); err != nil {
			return err
		}
		return recordInvalidation(ctx, tx, 0, u.ID)
	})
	if err != nil {
		return db.fail(op, err, "")
	}
	u.UpdatedAt = t
	return nil
}

// FindUserByID returns NotFound when there is no such user or
// organization.
func (db *DB) FindUserByID(ctx context.Context, id int64) (*gatehouse.User, error) {
	return db.findUser(ctx, "find user", `u.id = $1`, id)
}

// FindUserByLogin matches case-insensitively. Users and organizations
// share the namespace, so it finds either.
func (db *DB) FindUserByLogin(ctx context.Context, login string) (*gatehouse.User, error) {
	if !ascii(login) {
		// strings.ToLower folds some non-ASCII letters to ASCII ones
		// ("İ" → "i̇"…); logins are ASCII, so such a name matches no one.
		return nil, gatehouse.E("find user", gatehouse.NotFound, "user not found")
	}
	return db.findUser(ctx, "find user", `u.lower_login = $1`, strings.ToLower(login))
}

func (db *DB) findUser(ctx context.Context, op, where string, arg any) (*gatehouse.User, error) {
	u, err := scanUser(db.db.QueryRowContext(ctx,
		`SELECT `+userCols+` FROM users u WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gatehouse.E(op, gatehouse.NotFound, "user not found")
	}
	if err != nil {
		return nil, db.fail(op, err, "")
	}
	return u, nil
}

// ListUsers returns people, not organizations, ordered by ID.
func (db *DB) ListUsers(ctx context.Context, page gatehouse.Page) ([]*gatehouse.User, error) {
	const op = "list users"
	return queryAll(ctx, db, op, func(s scanner) (*gatehouse.User, error) { return scanUser(s) },
		`SELECT `+userCols+` FROM users u WHERE NOT u.is_org ORDER BY u.id LIMIT $1 OFFSET $2`,
		page.Limit(), page.Offset())
}

// CountUsers returns the number of people; organizations, which nobody
// signs in to, are not counted.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE NOT is_org`).Scan(&n); err != nil {
		return 0, db.fail("count users", err, "")
	}
	return n, nil
}

// ascii reports whether s is plain ASCII: logins and repository names are,
// so anything else matches nothing.
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
