package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// Organizations are rows of users with is_org set (migrations 0013): one
// login namespace for people and organizations, and one kind of repository
// owner. Memberships live in org_members, teams in teams.go.

var _ gatehouse.OrgStore = (*DB)(nil)

// CreateOrg inserts org as an organization and makes ownerID its first
// owner, in one transaction. An organization has no password and is no
// site administrator (Invalid otherwise). Its email is a contact address:
// it is stored but takes no part in email uniqueness, so that it may be
// the owner's own. A BasePermission of PermNone, the zero value, stands for
// the default, read, as on GitHub, where a new organization's members can
// read its repositories; UpdateOrg sets none. Returns Conflict when the
// login is taken by a user or an organization (case-insensitively),
// NotFound when the owner does not exist or is an organization.
func (db *DB) CreateOrg(ctx context.Context, org *gatehouse.User, ownerID int64) error {
	const op = "create organization"
	switch {
	case org.PasswordHash != "":
		return gatehouse.E(op, gatehouse.Invalid, "an organization cannot have a password")
	case org.SiteAdmin:
		return gatehouse.E(op, gatehouse.Invalid, "an organization cannot be a site administrator")
	case !validPermission(org.BasePermission):
		return gatehouse.E(op, gatehouse.Invalid, "unknown base permission")
	}
	base := org.BasePermission
	if base == gatehouse.PermNone {
		base = gatehouse.PermRead
	}
	t := now()
	var id int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		isOrg, err := accountIsOrg(ctx, tx, op, ownerID, "owner not found")
		if err != nil {
			return err
		}
		if isOrg {
			return gatehouse.E(op, gatehouse.NotFound, "owner not found")
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO users
			(login, lower_login, email, lower_email, name, site_admin, suspended,
			 password_hash, locale, is_org, description, base_permission, created_at, updated_at)
			VALUES ($1, $2, $3, '', $4, $5, $6, '', $7, $8, $9, $10, $11, $11)
			RETURNING id`,
			org.Login, strings.ToLower(org.Login), org.Email, org.Name, false, org.Suspended,
			org.Locale, true, org.Description, int(base), t.UnixMilli()).Scan(&id)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO org_members (org_id, user_id, role, created_at)
			VALUES ($1, $2, $3, $4)`, id, ownerID, string(gatehouse.OrgOwner), t.UnixMilli())
		return err
	})
	if err != nil {
		return db.fail(op, err, "owner not found")
	}
	org.ID, org.IsOrg, org.BasePermission, org.CreatedAt, org.UpdatedAt = id, true, base, t, t
	return nil
}

// UpdateOrg saves name, email, description and base permission of an
// organization and sets UpdatedAt. Returns NotFound when org.ID is not an
// organization (a person's row included), Invalid for an unknown base
// permission.
func (db *DB) UpdateOrg(ctx context.Context, org *gatehouse.User) error {
	const op = "update organization"
	if !validPermission(org.BasePermission) {
		return gatehouse.E(op, gatehouse.Invalid, "unknown base permission")
	}
	t := now()
	res, err := db.db.ExecContext(ctx, `UPDATE users SET
		name = $1, email = $2, description = $3, base_permission = $4, updated_at = $5
		WHERE id = $6 AND is_org`,
		org.Name, org.Email, org.Description, int(org.BasePermission), t.UnixMilli(), org.ID)
	if err == nil {
		err = affected(op, res, "organization not found")
	}
	if err != nil {
		return db.fail(op, err, "")
	}
	org.UpdatedAt = t
	return nil
}

// ListOrgs returns organizations ordered by login.
func (db *DB) ListOrgs(ctx context.Context, page gatehouse.Page) ([]*gatehouse.User, error) {
	return queryAll(ctx, db, "list organizations", func(s scanner) (*gatehouse.User, error) { return scanUser(s) },
		`SELECT `+userCols+` FROM users u WHERE u.is_org ORDER BY u.lower_login LIMIT $1 OFFSET $2`,
		page.Limit(), page.Offset())
}

// SetMembership adds userID to orgID with role, or changes the role.
// Returns NotFound when orgID is not an organization or userID does not
// exist, Invalid when userID is an organization, the role is unknown, or
// the change would demote the last owner: an organization always keeps
// one. That rule is kept here rather than by callers counting owners
// first, because only inside the transaction, with the organization's row
// locked, can two demotions at once not both see another owner left.
func (db *DB) SetMembership(ctx context.Context, orgID, userID int64, role gatehouse.OrgRole) error {
	const op = "set membership"
	if role != gatehouse.OrgMember && role != gatehouse.OrgOwner {
		return gatehouse.E(op, gatehouse.Invalid, "unknown organization role")
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := lockOrg(ctx, tx, op, orgID); err != nil {
			return err
		}
		if err := checkPerson(ctx, tx, op, userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO org_members (org_id, user_id, role, created_at)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role`,
			orgID, userID, string(role), now().UnixMilli())
		if err != nil {
			return err
		}
		if role == gatehouse.OrgOwner {
			return nil
		}
		return keepOwner(ctx, tx, op, orgID)
	})
	if err != nil {
		return db.fail(op, err, "user not found")
	}
	return nil
}

// RemoveMembership removes userID from orgID. Its team memberships in the
// organization go in the same statement: team_members refers to
// org_members with ON DELETE CASCADE. Returns NotFound when orgID is not an
// organization or userID not a member, Invalid when userID is the last
// owner (see SetMembership).
func (db *DB) RemoveMembership(ctx context.Context, orgID, userID int64) error {
	const op = "remove membership"
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := lockOrg(ctx, tx, op, orgID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`DELETE FROM org_members WHERE org_id = $1 AND user_id = $2`, orgID, userID)
		if err != nil {
			return err
		}
		if err := affected(op, res, "not a member of the organization"); err != nil {
			return err
		}
		return keepOwner(ctx, tx, op, orgID)
	})
	if err != nil {
		return db.fail(op, err, "")
	}
	return nil
}

// lockOrg takes the write lock on the organization's row for the rest of
// the transaction, so that changes to its owners are serialized on
// PostgreSQL as SQLite serializes every writer, and returns NotFound when
// orgID is not an organization. Rewriting a column with its own value is
// the one row lock both databases accept in the same text.
func lockOrg(ctx context.Context, tx *sql.Tx, op string, orgID int64) error {
	res, err := tx.ExecContext(ctx,
		`UPDATE users SET updated_at = updated_at WHERE id = $1 AND is_org`, orgID)
	if err != nil {
		return err
	}
	return affected(op, res, "organization not found")
}

// keepOwner refuses a change that left the organization without an owner;
// the caller's transaction then rolls it back.
func keepOwner(ctx context.Context, tx *sql.Tx, op string, orgID int64) error {
	var n int
	if err := tx.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM org_members WHERE org_id = $1 AND role = $2`,
		orgID, string(gatehouse.OrgOwner)).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return gatehouse.E(op, gatehouse.Invalid, "an organization must keep at least one owner")
	}
	return nil
}

// accountIsOrg reports whether the account id is an organization, and
// returns NotFound with the message missing when there is no such account.
// is_org never changes, so the answer holds for the rest of a transaction.
func accountIsOrg(ctx context.Context, q querier, op string, id int64, missing string) (bool, error) {
	var isOrg bool
	err := q.QueryRowContext(ctx, `SELECT is_org FROM users WHERE id = $1`, id).Scan(&isOrg)
	if errors.Is(err, sql.ErrNoRows) {
		return false, gatehouse.E(op, gatehouse.NotFound, missing)
	}
	return isOrg, err
}

// checkPerson returns NotFound when userID does not exist and Invalid when
// it is an organization, which can be neither a member of an organization
// nor of a team.
func checkPerson(ctx context.Context, q querier, op string, userID int64) error {
	isOrg, err := accountIsOrg(ctx, q, op, userID, "user not found")
	if err == nil && isOrg {
		err = gatehouse.E(op, gatehouse.Invalid, "an organization cannot be a member")
	}
	return err
}

// Membership returns userID's role in orgID, or "" when none.
func (db *DB) Membership(ctx context.Context, orgID, userID int64) (gatehouse.OrgRole, error) {
	var role string
	err := db.db.QueryRowContext(ctx,
		`SELECT role FROM org_members WHERE org_id = $1 AND user_id = $2`, orgID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", db.fail("find membership", err, "")
	}
	return gatehouse.OrgRole(role), nil
}

// membershipFrom joins both accounts of a membership: o the organization,
// u the person.
const membershipFrom = ` FROM org_members m
	JOIN users o ON o.id = m.org_id
	JOIN users u ON u.id = m.user_id`

func scanMembership(s scanner) (gatehouse.Membership, error) {
	var (
		org, user userScan
		role      string
	)
	if err := s.Scan(append(append(org.dest(), user.dest()...), &role)...); err != nil {
		return gatehouse.Membership{}, err
	}
	return gatehouse.Membership{Org: org.user(), User: user.user(), Role: gatehouse.OrgRole(role)}, nil
}

// ListMembers returns the members of orgID ordered by login, only those
// with role unless it is "". An organization that does not exist has no
// members. Returns Invalid for an unknown role.
func (db *DB) ListMembers(ctx context.Context, orgID int64, role gatehouse.OrgRole, page gatehouse.Page) ([]gatehouse.Membership, error) {
	const op = "list members"
	q := `SELECT ` + orgCols + `, ` + userCols + `, m.role` + membershipFrom + ` WHERE m.org_id = $1`
	args := []any{orgID}
	switch role {
	case "":
	case gatehouse.OrgMember, gatehouse.OrgOwner:
		q += ` AND m.role = $2`
		args = append(args, string(role))
	default:
		return nil, gatehouse.E(op, gatehouse.Invalid, "unknown organization role")
	}
	q += ` ORDER BY u.lower_login LIMIT $` + strconv.Itoa(len(args)+1) + ` OFFSET $` + strconv.Itoa(len(args)+2)
	return queryAll(ctx, db, op, scanMembership, q, append(args, page.Limit(), page.Offset())...)
}

// CountOwners returns the number of owners of orgID.
func (db *DB) CountOwners(ctx context.Context, orgID int64) (int, error) {
	var n int
	if err := db.db.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM org_members WHERE org_id = $1 AND role = $2`,
		orgID, string(gatehouse.OrgOwner)).Scan(&n); err != nil {
		return 0, db.fail("count owners", err, "")
	}
	return n, nil
}

// ListUserMemberships returns userID's memberships ordered by the
// organization's login.
func (db *DB) ListUserMemberships(ctx context.Context, userID int64, page gatehouse.Page) ([]gatehouse.Membership, error) {
	return queryAll(ctx, db, "list memberships", scanMembership,
		`SELECT `+orgCols+`, `+userCols+`, m.role`+membershipFrom+`
		WHERE m.user_id = $1
		ORDER BY o.lower_login LIMIT $2 OFFSET $3`,
		userID, page.Limit(), page.Offset())
}

// RepoGrants returns what userID holds on the repository besides owning
// it, in one query of indexed lookups: the collaborator grant, the highest
// grant of a team userID belongs to, userID's role in the organization
// that owns the repository, and that organization's base permission. Base
// is the organization's setting whether or not userID is a member (authz
// applies it to members only). On a repository a person owns only
// Collaborator can be set. Returns NotFound when the repository does not
// exist; an unknown user holds nothing.
func (db *DB) RepoGrants(ctx context.Context, repoID, userID int64) (gatehouse.Grants, error) {
	const op = "load repository grants"
	var (
		collab, team, base int
		role               string
	)
	err := db.db.QueryRowContext(ctx, `SELECT
		COALESCE((SELECT c.permission FROM collaborators c
			WHERE c.repo_id = r.id AND c.user_id = $2), 0),
		COALESCE((SELECT MAX(tr.permission) FROM team_repos tr
			JOIN team_members tm ON tm.team_id = tr.team_id
			WHERE tr.repo_id = r.id AND tm.user_id = $2), 0),
		COALESCE((SELECT om.role FROM org_members om
			WHERE om.org_id = r.owner_id AND om.user_id = $2), ''),
		CASE WHEN o.is_org THEN o.base_permission ELSE 0 END
		FROM repos r JOIN users o ON o.id = r.owner_id
		WHERE r.id = $1`, repoID, userID).Scan(&collab, &team, &role, &base)
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.Grants{}, gatehouse.E(op, gatehouse.NotFound, "repository not found")
	}
	if err != nil {
		return gatehouse.Grants{}, db.fail(op, err, "")
	}
	return gatehouse.Grants{
		Collaborator: gatehouse.Permission(collab),
		Team:         gatehouse.Permission(team),
		OrgRole:      gatehouse.OrgRole(role),
		Base:         gatehouse.Permission(base),
	}, nil
}

// validPermission reports whether p is one of the four levels.
func validPermission(p gatehouse.Permission) bool {
	return p >= gatehouse.PermNone && p <= gatehouse.PermAdmin
}
