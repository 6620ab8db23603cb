package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
)

var _ gatehouse.DeployKeyStore = (*DB)(nil)

const deployKeyCols = `id, repo_id, title, key, fingerprint, read_only, created_at, last_used_at`

func scanDeployKey(s scanner) (*gatehouse.DeployKey, error) {
	var (
		k             gatehouse.DeployKey
		created, used sql.NullInt64
	)
	if err := s.Scan(&k.ID, &k.RepoID, &k.Title, &k.Key, &k.Fingerprint, &k.ReadOnly, &created, &used); err != nil {
		return nil, err
	}
	k.CreatedAt, k.LastUsedAt = fromMsec(created), fromMsec(used)
	return &k, nil
}

// CreateDeployKey inserts k and sets its ID and CreatedAt. A fingerprint
// already registered by anyone, as a user key or a deploy key, is a
// Conflict (the schema's key_fingerprints says so); a missing repository
// is NotFound.
func (db *DB) CreateDeployKey(ctx context.Context, k *gatehouse.DeployKey) error {
	const op = "create deploy key"
	t := now()
	var id int64
	err := db.db.QueryRowContext(ctx, `INSERT INTO deploy_keys
		(repo_id, title, key, fingerprint, read_only, created_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		RETURNING id`,
		k.RepoID, k.Title, k.Key, k.Fingerprint, k.ReadOnly, t.UnixMilli(), msec(k.LastUsedAt)).Scan(&id)
	if err != nil {
		if class, _ := db.d.classify(err); class == classUnique {
			return &gatehouse.Error{Op: op, Kind: gatehouse.Conflict, Field: "key", Msg: "key is already in use", Err: err}
		}
		return db.fail(op, err, "repository not found")
	}
	k.ID, k.CreatedAt, k.LastUsedAt = id, t, norm(k.LastUsedAt)
	return nil
}

func (db *DB) findDeployKey(ctx context.Context, where string, arg any) (*gatehouse.DeployKey, error) {
	const op = "find deploy key"
	k, err := scanDeployKey(db.db.QueryRowContext(ctx, `SELECT `+deployKeyCols+` FROM deploy_keys WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gatehouse.E(op, gatehouse.NotFound, "key not found")
	}
	if err != nil {
		return nil, db.fail(op, err, "")
	}
	return k, nil
}

// FindDeployKey returns NotFound when there is no such key.
func (db *DB) FindDeployKey(ctx context.Context, id int64) (*gatehouse.DeployKey, error) {
	return db.findDeployKey(ctx, `id = $1`, id)
}

// FindDeployKeyByFingerprint returns NotFound when no repository has the
// key.
func (db *DB) FindDeployKeyByFingerprint(ctx context.Context, fingerprint string) (*gatehouse.DeployKey, error) {
	return db.findDeployKey(ctx, `fingerprint = $1`, fingerprint)
}

// ListDeployKeys returns a repository's deploy keys ordered by ID.
func (db *DB) ListDeployKeys(ctx context.Context, repoID int64, page gatehouse.Page) ([]*gatehouse.DeployKey, error) {
	const op = "list deploy keys"
	return queryAll(ctx, db, op, scanDeployKey, `SELECT `+deployKeyCols+` FROM deploy_keys WHERE repo_id = $1
		ORDER BY id LIMIT $2 OFFSET $3`, repoID, page.Limit(), page.Offset())
}

// DeleteDeployKey removes a key and, in the same transaction, records an
// invalidation that names no user (and no token): every node then
// re-checks its deploy-key sessions. Token caches find nothing to drop in
// it. Returns NotFound.
func (db *DB) DeleteDeployKey(ctx context.Context, id int64) error {
	const op = "delete deploy key"
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM deploy_keys WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if err := affected(op, res, "key not found"); err != nil {
			return err
		}
		return recordInvalidation(ctx, tx, 0, 0)
	})
	if err != nil {
		return db.fail(op, err, "")
	}
	return nil
}

// TouchDeployKey records that deploy key id was used at t; an earlier
// time than the one recorded is ignored.
func (db *DB) TouchDeployKey(ctx context.Context, id int64, t time.Time) error {
	const op = "touch deploy key"
	if _, err := db.db.ExecContext(ctx, `UPDATE deploy_keys SET last_used_at = $1
		WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)`, norm(t).UnixMilli(), id); err != nil {
		return db.fail(op, err, "")
	}
	return nil
}
