package sqldb

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gatehouse/gatehouse"
)

var _ gatehouse.SessionStore = (*DB)(nil)

// CreateSession inserts s and drops sessions that have expired, so that
// the table does not grow with abandoned browsers.
func (db *DB) CreateSession(ctx context.Context, s *gatehouse.Session) error {
	const op = "create session"
	t := now()
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires_at < $1`, t.UnixMilli()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO web_sessions
			(id, user_id, csrf, sudo_until, flash, ip, created_at, seen_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)`,
			s.ID, s.UserID, s.CSRF, msec(s.SudoUntil), s.Flash, s.IP, t.UnixMilli(), s.ExpiresAt.UnixMilli())
		return err
	})
	if err != nil {
		return db.fail(op, err, "user not found")
	}
	s.CreatedAt, s.SeenAt = t, t
	s.SudoUntil, s.ExpiresAt = norm(s.SudoUntil), norm(s.ExpiresAt)
	return nil
}

// FindSession returns a live session by ID.
func (db *DB) FindSession(ctx context.Context, id string) (*gatehouse.Session, error) {
	const op = "find session"
	var (
		s                            gatehouse.Session
		sudo, created, seen, expires sql.NullInt64
	)
	err := db.db.QueryRowContext(ctx, `SELECT id, user_id, csrf, sudo_until, flash, ip,
		created_at, seen_at, expires_at FROM web_sessions WHERE id = $1 AND expires_at > $2`,
		id, now().UnixMilli()).Scan(&s.ID, &s.UserID, &s.CSRF, &sudo, &s.Flash, &s.IP, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gatehouse.E(op, gatehouse.NotFound, "session not found")
	}
	if err != nil {
		return nil, db.fail(op, err, "")
	}
	s.SudoUntil, s.CreatedAt, s.SeenAt, s.ExpiresAt = fromMsec(sudo), fromMsec(created), fromMsec(seen), fromMsec(expires)
	return &s, nil
}

// UpdateSession saves SudoUntil, Flash and SeenAt.
func (db *DB) UpdateSession(ctx context.Context, s *gatehouse.Session) error {
	const op = "update session"
	res, err := db.db.ExecContext(ctx, `UPDATE web_sessions SET sudo_until = $1, flash = $2, seen_at = $3
		WHERE id = $4`, msec(s.SudoUntil), s.Flash, msec(s.SeenAt), s.ID)
	if err != nil {
		return db.fail(op, err, "")
	}
	if err := affected(op, res, "session not found"); err != nil {
		return err
	}
	s.SudoUntil, s.SeenAt = norm(s.SudoUntil), norm(s.SeenAt)
	return nil
}

// TakeFlash reads the flash and clears it with a compare-and-swap: of two
// concurrent readers only the one whose UPDATE still finds the same value
// gets it, on any database.
func (db *DB) TakeFlash(ctx context.Context, id string) ([]byte, error) {
	const op = "take flash"
	var flash []byte
	err := db.db.QueryRowContext(ctx, `SELECT flash FROM web_sessions WHERE id = $1`, id).Scan(&flash)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && len(flash) == 0) {
		return nil, nil
	}
	if err != nil {
		return nil, db.fail(op, err, "")
	}
	res, err := db.db.ExecContext(ctx, `UPDATE web_sessions SET flash = NULL WHERE id = $1 AND flash = $2`, id, flash)
	if err != nil {
		return nil, db.fail(op, err, "")
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return nil, nil
	}
	return flash, nil
}

// DeleteSession removes one session.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	if _, err := db.db.ExecContext(ctx, `DELETE FROM web_sessions WHERE id = $1`, id); err != nil {
		return db.fail("delete session", err, "")
	}
	return nil
}

// DeleteUserSessions removes every session of a user.
func (db *DB) DeleteUserSessions(ctx context.Context, userID int64) (int, error) {
	const op = "delete sessions"
	res, err := db.db.ExecContext(ctx, `DELETE FROM web_sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, db.fail(op, err, "")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, db.fail(op, err, "")
	}
	return int(n), nil
}
