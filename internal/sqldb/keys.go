package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
)

var _ gatehouse.KeyStore = (*DB)(nil)

const keyCols = `id, user_id, title, key, fingerprint, created_at, last_used_at`

func scanKey(s scanner) (*gatehouse.Key, error) {
	var (
		k             gatehouse.Key
		created, used sql.NullInt64
	)
	if err := s.Scan(&k.ID, &k.UserID, &k.Title, &k.Key, &k.Fingerprint, &created, &used); err != nil {
		return nil, err
	}
	k.CreatedAt, k.LastUsedAt = fromMsec(created), fromMsec(used)
	return &k, nil
}

// CreateKey inserts k and sets its ID and CreatedAt. A fingerprint already
// registered by anyone is a Conflict.
func (db *DB) CreateKey(ctx context.Context, k *gatehouse.Key) error {
	const op = "create key"
	t := now()
	var id int64
	err := db.db.QueryRowContext(ctx, `INSERT INTO keys
		(user_id, title, key, fingerprint, created_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING id`,
		k.UserID, k.Title, k.Key, k.Fingerprint, t.UnixMilli(), msec(k.LastUsedAt)).Scan(&id)
	if err != nil {
		if class, _ := db.d.classify(err); class == classUnique {
			return &gatehouse.Error{Op: op, Kind: gatehouse.Conflict, Field: "key", Msg: "key is already in use", Err: err}
		}
		return db.fail(op, err, "user not found")
	}
	k.ID, k.CreatedAt, k.LastUsedAt = id, t, norm(k.LastUsedAt)
	return nil
}

// FindKey returns NotFound when there is no such key.
func (db *DB) FindKey(ctx context.Context, id int64) (*gatehouse.Key, error) {
	const op = "find key"
	k, err := scanKey(db.db.QueryRowContext(ctx, `SELECT `+keyCols+` FROM keys WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gatehouse.E(op, gatehouse.NotFound, "key not found")
	}
	if err != nil {
		return nil, db.fail(op, err, "")
	}
	return k, nil
}

// ListKeys returns a user's keys ordered by ID.
func (db *DB) ListKeys(ctx context.Context, userID int64, page gatehouse.Page) ([]*gatehouse.Key, error) {
	const op = "list keys"
	return queryAll(ctx, db, op, scanKey, `SELECT `+keyCols+` FROM keys WHERE user_id = $1
		ORDER BY id LIMIT $2 OFFSET $3`, userID, page.Limit(), page.Offset())
}

// DeleteKey removes a key and, in the same transaction, records an
// invalidation of its user, so that every node ends the SSH sessions the
// key opened. Returns NotFound.
func (db *DB) DeleteKey(ctx context.Context, id int64) error {
	const op = "delete key"
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var userID int64
		err := tx.QueryRowContext(ctx, `DELETE FROM keys WHERE id = $1 RETURNING user_id`, id).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return gatehouse.E(op, gatehouse.NotFound, "key not found")
		}
		if err != nil {
			return err
		}
		return recordInvalidation(ctx, tx, 0, userID)
	})
	if err != nil {
		return db.fail(op, err, "")
	}
	return nil
}

// FindKeyByFingerprint returns NotFound when no user has the key.
func (db *DB) FindKeyByFingerprint(ctx context.Context, fingerprint string) (*gatehouse.Key, error) {
	const op = "find key"
	k, err := scanKey(db.db.QueryRowContext(ctx, `SELECT `+keyCols+` FROM keys WHERE fingerprint = $1`, fingerprint))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gatehouse.E(op, gatehouse.NotFound, "key not found")
	}
	if err != nil {
		return nil, db.fail(op, err, "")
	}
	return k, nil
}

// TouchKey records that key id was used at t; an earlier time than the
// one recorded is ignored, so that out-of-order writes keep the latest.
func (db *DB) TouchKey(ctx context.Context, id int64, t time.Time) error {
	const op = "touch key"
	if _, err := db.db.ExecContext(ctx, `UPDATE keys SET last_used_at = $1
		WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)`, norm(t).UnixMilli(), id); err != nil {
		return db.fail(op, err, "")
	}
	return nil
}
