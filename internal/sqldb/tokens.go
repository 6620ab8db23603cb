package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// tokenCols are the columns of a tokens row aliased t, in scanToken's
// order.
const tokenCols = `t.id, t.user_id, t.kind, t.note, t.scopes, t.description, t.target_id,
	t.repos, t.permissions, t.approval, t.reviewer_id, t.reviewed_at, t.review_reason,
	t.hash, t.last_eight, t.expires_at, t.created_at, t.updated_at, t.last_used_at,
	t.last_used_ip, t.regenerated_at`

// tokenRepoJoin adds the selection of a token with selected repositories
// to its row, one row per selected repository (one row with a NULL
// repo_id for every other token, and for an empty selection): the row and
// its selection come from one statement, and so from one snapshot, without
// a second round trip. The condition on t.repos keeps the join from
// looking for the selection of any other token. Queries that use it order
// by the token first and by tr.repo_id last, which scanTokens relies on.
const tokenRepoJoin = ` LEFT JOIN token_repos tr ON tr.token_id = t.id AND t.repos = 'selected'`

// scanToken reads the tokenCols of a row, then the extra columns after
// them. RepoIDs is left nil: see scanTokens.
func scanToken(s scanner, extra ...any) (*gatehouse.Token, error) {
	var (
		t                                gatehouse.Token
		kind, scopes, repos, perms, appr string
		target, reviewer                 sql.NullInt64
		reviewed                         sql.NullInt64
		expires, created, updated, lastU sql.NullInt64
		regenerated                      sql.NullInt64
	)
	dest := []any{&t.ID, &t.UserID, &kind, &t.Note, &scopes, &t.Description, &target,
		&repos, &perms, &appr, &reviewer, &reviewed, &t.ReviewReason,
		&t.Hash, &t.LastEight, &expires, &created, &updated, &lastU, &t.LastUsedIP, &regenerated}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	t.Kind, t.Repos, t.Approval = gatehouse.TokenKind(kind), gatehouse.RepoAccess(repos), gatehouse.TokenApproval(appr)
	t.Scopes = splitScopes(scopes)
	t.TargetID, t.ReviewerID = target.Int64, reviewer.Int64
	if t.Kind == gatehouse.FineGrainedToken {
		p, err := splitPerms(perms)
		if err != nil {
			return nil, err
		}
		t.Permissions = p
	}
	t.ExpiresAt, t.CreatedAt, t.UpdatedAt, t.LastUsedAt, t.ReviewedAt =
		fromMsec(expires), fromMsec(created), fromMsec(updated), fromMsec(lastU), fromMsec(reviewed)
	t.RegeneratedAt = fromMsec(regenerated)
	return &t, nil
}

// scanTokens reads the rows of a query on tokenCols + tokenRepoJoin that
// selects tokenCols and then tr.repo_id: consecutive rows of one token
// make one Token, their repo_id its RepoIDs. A token with selected
// repositories gets a non-nil RepoIDs, sorted, empty once every
// repository it selected was deleted; every other token keeps nil.
func scanTokens(rows *sql.Rows) ([]*gatehouse.Token, error) {
	all := []*gatehouse.Token{}
	for rows.Next() {
		var repoID sql.NullInt64
		t, err := scanToken(rows, &repoID)
		if err != nil {
			return nil, err
		}
		if n := len(all); n > 0 && all[n-1].ID == t.ID {
			t = all[n-1]
		} else {
			if t.Repos == gatehouse.SelectedRepos {
				t.RepoIDs = []int64{}
			}
			all = append(all, t)
		}
		if repoID.Valid {
			t.RepoIDs = append(t.RepoIDs, repoID.Int64)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return all, nil
}

// joinScopes stores scopes in one column: scope names never contain
// spaces, and a token's scopes are always read and written together.
func joinScopes(scopes []string) string { return strings.Join(scopes, " ") }

// splitScopes never returns nil, so that callers can tell "no scopes" from
// "not loaded" the same way for every token.
func splitScopes(s string) []string {
	f := strings.Fields(s)
	if f == nil {
		f = []string{}
	}
	return f
}

// Fine-grained permission levels as the permissions column spells them.
const (
	permRead  = 1
	permWrite = 2
)

// metadataPerm is implied read-only for every fine-grained token and so
// never stored.
const metadataPerm = "metadata"

// joinPerms stores a fine-grained token's permissions in one column, like
// scopes: "name:read name:write", sorted by name, without metadata and
// without no-access (0) entries. It refuses a level other than 0, 1 and 2
// and a name that is empty or holds a space or a colon.
func joinPerms(op string, ps map[string]int) (string, error) {
	names := make([]string, 0, len(ps))
	for name, l := range ps {
		switch {
		case name == "" || strings.ContainsAny(name, ": \t\r\n\v\f"):
			return "", gatehouse.Errorf(op, gatehouse.Invalid, "malformed permission name %q", name)
		case l < 0 || l > permWrite:
			return "", gatehouse.Errorf(op, gatehouse.Invalid, "permission %s: unknown level %d", name, l)
		case l == 0 || name == metadataPerm:
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	for i, name := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(name)
		if ps[name] == permWrite {
			b.WriteString(":write")
		} else {
			b.WriteString(":read")
		}
	}
	return b.String(), nil
}

// splitPerms is the inverse of joinPerms. It never returns nil.
func splitPerms(s string) (map[string]int, error) {
	ps := map[string]int{}
	for _, f := range strings.Fields(s) {
		name, lvl, _ := strings.Cut(f, ":")
		switch lvl {
		case "read":
			ps[name] = permRead
		case "write":
			ps[name] = permWrite
		default:
			return nil, errors.New("malformed permissions column: " + strconv.Quote(f))
		}
	}
	return ps, nil
}

// tokenRow is what a Token stores besides the columns both kinds share,
// checked and normalized by checkToken.
type tokenRow struct {
	perms   string
	repoIDs []int64 // sorted, without duplicates; nil unless selected
	perm    map[string]int
}

// checkToken refuses a token whose fields do not fit its kind, before the
// schema's check would with a less helpful message: a classic token has
// none of the fine-grained fields; a fine-grained one has no scopes, a
// resource owner, a known repository access and approval state, and
// repository ids only for a selection of at most MaxSelectedRepos.
func checkToken(op string, t *gatehouse.Token) (tokenRow, error) {
	invalid := func(msg string) (tokenRow, error) { return tokenRow{}, gatehouse.E(op, gatehouse.Invalid, msg) }
	switch t.Kind {
	case gatehouse.ClassicToken:
		if t.TargetID != 0 || t.Repos != "" || len(t.RepoIDs) > 0 || len(t.Permissions) > 0 ||
			t.Description != "" || t.Approval != gatehouse.TokenApproved || t.ReviewerID != 0 ||
			!t.ReviewedAt.IsZero() || t.ReviewReason != "" {
			return invalid("a classic token has no description, resource owner, repository access, permissions or approval")
		}
		return tokenRow{}, nil
	case gatehouse.FineGrainedToken:
	default:
		return invalid("unknown token kind")
	}
	if len(t.Scopes) > 0 {
		return invalid("a fine-grained token has permissions, not scopes")
	}
	if t.TargetID == 0 {
		return invalid("a fine-grained token needs a resource owner")
	}
	switch t.Approval {
	case gatehouse.TokenApproved, gatehouse.TokenPending, gatehouse.TokenDenied:
	default:
		return invalid("unknown approval state")
	}
	var r tokenRow
	switch t.Repos {
	case gatehouse.PublicRepos, gatehouse.AllRepos:
		if len(t.RepoIDs) > 0 {
			return invalid("only a token with selected repositories lists repositories")
		}
	case gatehouse.SelectedRepos:
		r.repoIDs = slices.Compact(slices.Sorted(slices.Values(t.RepoIDs)))
		if len(r.repoIDs) > gatehouse.MaxSelectedRepos {
			return invalid("a token selects at most " + strconv.Itoa(gatehouse.MaxSelectedRepos) + " repositories")
		}
	default:
		return invalid("unknown repository access")
	}
	var err error
	if r.perms, err = joinPerms(op, t.Permissions); err != nil {
		return tokenRow{}, err
	}
	if r.perm, err = splitPerms(r.perms); err != nil {
		return tokenRow{}, gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	return r, nil
}

// apply sets the fields of t that the store normalizes to what reads back.
func (r tokenRow) apply(t *gatehouse.Token) {
	if t.Kind != gatehouse.FineGrainedToken {
		return
	}
	t.Permissions, t.RepoIDs = r.perm, r.repoIDs
	if t.Repos == gatehouse.SelectedRepos && t.RepoIDs == nil {
		t.RepoIDs = []int64{}
	}
	t.ReviewedAt = norm(t.ReviewedAt)
}

// nullID is an optional reference: NULL for 0.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// placeholders returns "$from, $from+1, ..." for n values.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

// insertTokenRepos stores a token's selection in one statement, which
// takes only repositories of the resource owner: NotFound when one of ids
// does not exist, Invalid when one belongs to someone else.
func insertTokenRepos(ctx context.Context, tx *sql.Tx, op string, tokenID, targetID int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{tokenID, targetID}
	for _, id := range ids {
		args = append(args, id)
	}
	in := placeholders(3, len(ids))
	res, err := tx.ExecContext(ctx, `INSERT INTO token_repos (token_id, repo_id)
		SELECT $1, r.id FROM repos r WHERE r.owner_id = $2 AND r.id IN (`+in+`)`, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil || n == int64(len(ids)) {
		return err
	}
	var found int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM repos r WHERE r.id IN (`+placeholders(1, len(ids))+`)`,
		args[2:]...).Scan(&found); err != nil {
		return err
	}
	if found < int64(len(ids)) {
		return gatehouse.E(op, gatehouse.NotFound, "selected repository not found")
	}
	return gatehouse.E(op, gatehouse.Invalid, "a token selects only repositories of its resource owner")
}

// CreateToken inserts t, with a fine-grained token's selection, in one
// transaction and sets its ID, CreatedAt and UpdatedAt. ExpiresAt,
// LastUsedAt and ReviewedAt are rounded as the database keeps them, and a
// fine-grained token's Permissions and RepoIDs are set to what reads back
// (see checkToken and joinPerms). Returns Invalid for fields that do not
// fit the kind, NotFound when the user, the resource owner or a selected
// repository does not exist, Invalid when a selected repository belongs
// to another owner, Conflict for a taken note or hash.
func (db *DB) CreateToken(ctx context.Context, t *gatehouse.Token) error {
	const op = "create token"
	row, err := checkToken(op, t)
	if err != nil {
		return err
	}
	ts := now()
	var id int64
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if t.Kind == gatehouse.FineGrainedToken {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1`, t.TargetID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return gatehouse.E(op, gatehouse.NotFound, "resource owner not found")
			}
			if err != nil {
				return err
			}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO tokens
			(user_id, kind, note, scopes, description, target_id, repos, permissions,
			 approval, reviewer_id, reviewed_at, review_reason, hash, last_eight,
			 expires_at, created_at, updated_at, last_used_at, last_used_ip)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $18)
			RETURNING id`,
			t.UserID, string(t.Kind), t.Note, joinScopes(t.Scopes), t.Description, nullID(t.TargetID),
			string(t.Repos), row.perms, string(t.Approval), nullID(t.ReviewerID), msec(t.ReviewedAt),
			t.ReviewReason, t.Hash, t.LastEight, msec(t.ExpiresAt), ts.UnixMilli(),
			msec(t.LastUsedAt), t.LastUsedIP).Scan(&id)
		if err != nil {
			return err
		}
		return insertTokenRepos(ctx, tx, op, id, t.TargetID, row.repoIDs)
	})
	if err != nil {
		return db.fail(op, err, "user not found")
	}
	t.ID, t.CreatedAt, t.UpdatedAt = id, ts, ts
	t.ExpiresAt, t.LastUsedAt = norm(t.ExpiresAt), norm(t.LastUsedAt)
	row.apply(t)
	return nil
}

// UpdateToken saves note, scopes, hash, last eight and expiry, and of a
// fine-grained token description, repository access, permissions,
// approval, reviewer, review time and reason, replacing its selection;
// it sets UpdatedAt and records an invalidation, all in one transaction.
// Kind and resource owner never change: Invalid when t's differ from the
// stored token's. Otherwise as CreateToken, and NotFound for a missing
// token.
func (db *DB) UpdateToken(ctx context.Context, t *gatehouse.Token) error {
	const op = "update token"
	row, err := checkToken(op, t)
	if err != nil {
		return err
	}
	ts := now()
	err = db.tx(ctx, func(tx *sql.Tx) error {
		// The owner comes from the row, not from t, so that the
		// invalidation names the right user whatever the caller passed.
		var (
			userID int64
			kind   string
			target sql.NullInt64
		)
		// The row changes only if nobody changed it since the caller
		// read it (updated_at, which every update moves forward), so
		// that a stale copy cannot bring back an old secret, approval or
		// selection: a caller that lost the race gets Conflict.
		var updated int64
		err := tx.QueryRowContext(ctx, `UPDATE tokens SET
			note = $1, scopes = $2, hash = $3, last_eight = $4, expires_at = $5,
			updated_at = CASE WHEN $6 > updated_at THEN $6 ELSE updated_at + 1 END,
			description = $7, repos = $8, permissions = $9, approval = $10, reviewer_id = $11,
			reviewed_at = $12, review_reason = $13, regenerated_at = $16
			WHERE id = $14 AND updated_at = $15
			RETURNING user_id, kind, target_id, updated_at`,
			t.Note, joinScopes(t.Scopes), t.Hash, t.LastEight, msec(t.ExpiresAt), ts.UnixMilli(),
			t.Description, string(t.Repos), row.perms, string(t.Approval), nullID(t.ReviewerID),
			msec(t.ReviewedAt), t.ReviewReason,
			t.ID, t.UpdatedAt.UnixMilli(), msec(t.RegeneratedAt)).Scan(&userID, &kind, &target, &updated)
		if errors.Is(err, sql.ErrNoRows) {
			var exists int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM tokens WHERE id = $1`, t.ID).Scan(&exists); err == nil {
				return gatehouse.E(op, gatehouse.Conflict, "the token was changed meanwhile; load it again and retry")
			}
			return gatehouse.E(op, gatehouse.NotFound, "token not found")
		}
		ts = time.UnixMilli(updated)
		if err != nil {
			return err
		}
		switch {
		case gatehouse.TokenKind(kind) != t.Kind:
			return gatehouse.E(op, gatehouse.Invalid, "a token's kind cannot change")
		case target.Int64 != t.TargetID:
			return gatehouse.E(op, gatehouse.Invalid, "a token's resource owner cannot change")
		}
		if t.Kind == gatehouse.FineGrainedToken {
			if _, err := tx.ExecContext(ctx, `DELETE FROM token_repos WHERE token_id = $1`, t.ID); err != nil {
				return err
			}
			if err := insertTokenRepos(ctx, tx, op, t.ID, target.Int64, row.repoIDs); err != nil {
				return err
			}
		}
		return recordInvalidation(ctx, tx, t.ID, userID)
	})
	if err != nil {
		return db.fail(op, err, "")
	}
	t.UpdatedAt, t.ExpiresAt = ts, norm(t.ExpiresAt)
	row.apply(t)
	return nil
}

// DeleteToken removes a token, with its selection, and records an
// invalidation in the same transaction.
func (db *DB) DeleteToken(ctx context.Context, id int64) error {
	const op = "delete token"
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var userID int64
		err := tx.QueryRowContext(ctx,
			`DELETE FROM tokens WHERE id = $1 RETURNING user_id`, id).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return gatehouse.E(op, gatehouse.NotFound, "token not found")
		}
		if err != nil {
			return err
		}
		return recordInvalidation(ctx, tx, id, userID)
	})
	if err != nil {
		return db.fail(op, err, "")
	}
	return nil
}

// FindTokenByHash looks a token up by the hex SHA-256 of its secret: one
// statement, an indexed equality on tokens_hash and, only for a token with
// selected repositories, a range of token_repos' primary key.
func (db *DB) FindTokenByHash(ctx context.Context, hash string) (*gatehouse.Token, error) {
	return db.findToken(ctx, `t.hash = $1`, hash)
}

// FindTokenByID returns NotFound when there is no such token.
func (db *DB) FindTokenByID(ctx context.Context, id int64) (*gatehouse.Token, error) {
	return db.findToken(ctx, `t.id = $1`, id)
}

// findToken reads one token and its selection in one statement (one
// snapshot): the selection aggregated into one column, so that a token
// that selects 50 repositories is one row, not 50.
func (db *DB) findToken(ctx context.Context, where string, arg any) (*gatehouse.Token, error) {
	const op = "find token"
	var list sql.NullString
	t, err := scanToken(db.db.QueryRowContext(ctx, `SELECT `+tokenCols+`,
		CASE WHEN t.repos = 'selected' THEN (SELECT `+db.d.repoIDList+` FROM token_repos WHERE token_id = t.id) END
		FROM tokens t WHERE `+where, arg), &list)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gatehouse.E(op, gatehouse.NotFound, "token not found")
	}
	if err != nil {
		return nil, db.fail(op, err, "")
	}
	if t.Repos == gatehouse.SelectedRepos {
		t.RepoIDs = []int64{}
		if list.String != "" {
			for _, f := range strings.Split(list.String, ",") {
				id, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					return nil, db.fail(op, fmt.Errorf("selected repository %q: %w", f, err), "")
				}
				t.RepoIDs = append(t.RepoIDs, id)
			}
			slices.Sort(t.RepoIDs)
		}
	}
	return t, nil
}

// queryTokens runs a query for scanTokens.
func (db *DB) queryTokens(ctx context.Context, op, query string, args ...any) ([]*gatehouse.Token, error) {
	rows, err := db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, db.fail(op, err, "")
	}
	defer rows.Close()
	ts, err := scanTokens(rows)
	if err != nil {
		return nil, db.fail(op, err, "")
	}
	return ts, nil
}

// ListTokens returns tokens matching f ordered by ID, with the selections
// of those that select repositories, in one statement: the page of tokens
// is taken first, then joined to token_repos.
func (db *DB) ListTokens(ctx context.Context, f gatehouse.TokenFilter, page gatehouse.Page) ([]*gatehouse.Token, error) {
	const op = "list tokens"
	var (
		conds []string
		args  []any
	)
	where := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.UserID != 0 {
		where(`user_id = ?`, f.UserID)
	}
	if f.KindSet {
		where(`kind = ?`, string(f.Kind))
	}
	if f.TargetID != 0 {
		where(`target_id = ?`, f.TargetID)
	}
	if f.ApprovalSet {
		// Classic tokens have no approval: '' would otherwise take
		// them for approved fine-grained ones.
		where(`kind = 'fine_grained' AND approval = ?`, string(f.Approval))
	}
	inner := `SELECT * FROM tokens`
	if len(conds) > 0 {
		inner += ` WHERE ` + strings.Join(conds, ` AND `)
	}
	inner += ` ORDER BY id LIMIT $` + strconv.Itoa(len(args)+1) + ` OFFSET $` + strconv.Itoa(len(args)+2)
	args = append(args, page.Limit(), page.Offset())
	return db.queryTokens(ctx, op, `SELECT `+tokenCols+`, tr.repo_id FROM (`+inner+`) t`+tokenRepoJoin+`
		ORDER BY t.id, tr.repo_id`, args...)
}

// RecordTokenUses stores the latest use of each token in one transaction.
// A use never moves last_used_at backwards, since batches from several
// processes can arrive out of order, and uses of tokens deleted in the
// meantime are dropped.
func (db *DB) RecordTokenUses(ctx context.Context, uses []gatehouse.TokenUse) error {
	const op = "record token uses"
	if len(uses) == 0 {
		return nil
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE tokens SET last_used_at = $1, last_used_ip = $2
			WHERE id = $3 AND (last_used_at IS NULL OR last_used_at < $1)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, u := range uses {
			if u.At.IsZero() {
				continue
			}
			if _, err := stmt.ExecContext(ctx, u.At.UnixMilli(), u.IP, u.TokenID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return db.fail(op, err, "")
	}
	return nil
}
