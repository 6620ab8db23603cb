package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
)

const tokenCols = `id, user_id, note, scopes, hash, last_eight, expires_at,
	created_at, updated_at, last_used_at, last_used_ip`

func scanToken(s scanner) (*gatehouse.Token, error) {
	var (
		t                                gatehouse.Token
		scopes                           string
		expires, created, updated, lastU sql.NullInt64
	)
	err := s.Scan(&t.ID, &t.UserID, &t.Note, &scopes, &t.Hash, &t.LastEight, &expires,
		&created, &updated, &lastU, &t.LastUsedIP)
	if err != nil {
		return nil, err
	}
	t.Scopes = splitScopes(scopes)
	t.ExpiresAt, t.CreatedAt, t.UpdatedAt, t.LastUsedAt =
		fromMsec(expires), fromMsec(created), fromMsec(updated), fromMsec(lastU)
	return &t, nil
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

// CreateToken inserts t and sets its ID, CreatedAt and UpdatedAt. ExpiresAt
// and LastUsedAt are rounded as the database keeps them.
func (db *DB) CreateToken(ctx context.Context, t *gatehouse.Token) error {
	const op = "create token"
	ts := now()
	var id int64
	err := db.db.QueryRowContext(ctx, `INSERT INTO tokens
		(user_id, note, scopes, hash, last_eight, expires_at, created_at, updated_at,
		 last_used_at, last_used_ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9)
		RETURNING id`,
		t.UserID, t.Note, joinScopes(t.Scopes), t.Hash, t.LastEight, msec(t.ExpiresAt),
		ts.UnixMilli(), msec(t.LastUsedAt), t.LastUsedIP).Scan(&id)
	if err != nil {
		return db.fail(op, err, "user not found")
	}
	t.ID, t.CreatedAt, t.UpdatedAt = id, ts, ts
	t.ExpiresAt, t.LastUsedAt = norm(t.ExpiresAt), norm(t.LastUsedAt)
	return nil
}

// UpdateToken saves note, scopes, hash, last eight and expiry, sets
// UpdatedAt and records an invalidation in the same transaction.
func (db *DB) UpdateToken(ctx context.Context, t *gatehouse.Token) error {
	const op = "update token"
	ts := now()
	err := db.tx(ctx, func(tx *sql.Tx) error {
		// The owner comes from the row, not from t, so that the
		// invalidation names the right user whatever the caller passed.
		var userID int64
		err := tx.QueryRowContext(ctx, `UPDATE tokens SET
			note = $1, scopes = $2, hash = $3, last_eight = $4, expires_at = $5, updated_at = $6
			WHERE id = $7
			RETURNING user_id`,
			t.Note, joinScopes(t.Scopes), t.Hash, t.LastEight, msec(t.ExpiresAt), ts.UnixMilli(),
			t.ID).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return gatehouse.E(op, gatehouse.NotFound, "token not found")
		}
		if err != nil {
			return err
		}
		return recordInvalidation(ctx, tx, t.ID, userID)
	})
	if err != nil {
		return db.fail(op, err, "")
	}
	t.UpdatedAt, t.ExpiresAt = ts, norm(t.ExpiresAt)
	return nil
}

// DeleteToken removes a token and records an invalidation in the same
// transaction.
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

// FindTokenByHash looks a token up by the hex SHA-256 of its secret.
func (db *DB) FindTokenByHash(ctx context.Context, hash string) (*gatehouse.Token, error) {
	return db.findToken(ctx, `hash = $1`, hash)
}

// FindTokenByID returns NotFound when there is no such token.
func (db *DB) FindTokenByID(ctx context.Context, id int64) (*gatehouse.Token, error) {
	return db.findToken(ctx, `id = $1`, id)
}

func (db *DB) findToken(ctx context.Context, where string, arg any) (*gatehouse.Token, error) {
	const op = "find token"
	t, err := scanToken(db.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gatehouse.E(op, gatehouse.NotFound, "token not found")
	}
	if err != nil {
		return nil, db.fail(op, err, "")
	}
	return t, nil
}

// ListTokens returns tokens matching f ordered by ID.
func (db *DB) ListTokens(ctx context.Context, f gatehouse.TokenFilter, page gatehouse.Page) ([]*gatehouse.Token, error) {
	const op = "list tokens"
	q := `SELECT ` + tokenCols + ` FROM tokens`
	var args []any
	if f.UserID != 0 {
		q += ` WHERE user_id = $1`
		args = append(args, f.UserID)
	}
	q += ` ORDER BY id LIMIT $` + strconv.Itoa(len(args)+1) + ` OFFSET $` + strconv.Itoa(len(args)+2)
	args = append(args, page.Limit(), page.Offset())
	return queryAll(ctx, db, op, scanToken, q, args...)
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
