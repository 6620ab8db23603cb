package sqldb

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gatehouse/gatehouse"
)

// Setting returns a stored instance setting, NotFound when unset.
func (db *DB) Setting(ctx context.Context, key string) (string, error) {
	const op = "get setting"
	var v string
	err := db.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", gatehouse.E(op, gatehouse.NotFound, "setting not found")
	}
	if err != nil {
		return "", db.fail(op, err, "")
	}
	return v, nil
}

// SetSetting stores an instance setting, replacing an earlier value.
func (db *DB) SetSetting(ctx context.Context, key, value string) error {
	_, err := db.db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return db.fail("set setting", err, "")
	}
	return nil
}

// DeleteSetting removes a setting and reports whether it was present. The
// single DELETE decides the race between concurrent callers: the database
// removes the row once, so exactly one of them sees a row affected.
func (db *DB) DeleteSetting(ctx context.Context, key string) (bool, error) {
	const op = "delete setting"
	res, err := db.db.ExecContext(ctx, `DELETE FROM settings WHERE key = $1`, key)
	if err != nil {
		return false, db.fail(op, err, "")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, db.fail(op, err, "")
	}
	return n > 0, nil
}
