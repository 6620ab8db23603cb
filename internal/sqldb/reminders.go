package sqldb

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse/gatehouse"
)

var _ gatehouse.ReminderStore = (*DB)(nil)

// PendingReminders returns tokens expiring in (after, notAfter] without a
// sent, or freshly claimed, reminder of kind for their current expiry.
func (db *DB) PendingReminders(ctx context.Context, kind gatehouse.ReminderKind, after, notAfter, staleBefore time.Time, limit int) ([]*gatehouse.Token, error) {
	const op = "list pending reminders"
	return db.queryTokens(ctx, op, `SELECT `+tokenCols+`, tr.repo_id FROM (SELECT t.* FROM tokens t
		WHERE t.expires_at > $1 AND t.expires_at <= $2
		AND NOT EXISTS (SELECT 1 FROM token_reminders r
			WHERE r.token_id = t.id AND r.expires_at = t.expires_at AND r.kind = $3
			AND (r.sent_at IS NOT NULL OR r.claimed_at >= $4))
		ORDER BY t.expires_at, t.id
		LIMIT $5) t`+tokenRepoJoin+`
		ORDER BY t.expires_at, t.id, tr.repo_id`,
		after.UnixMilli(), notAfter.UnixMilli(), string(kind), staleBefore.UnixMilli(), limit)
}

// ClaimReminder inserts the claim, or takes over one that went stale. Both
// statements are single atomic writes, so of several nodes racing for one
// reminder exactly one sees a row change.
func (db *DB) ClaimReminder(ctx context.Context, k gatehouse.ReminderKey, now, staleBefore time.Time) (bool, error) {
	const op = "claim reminder"
	res, err := db.db.ExecContext(ctx, `INSERT INTO token_reminders
		(token_id, expires_at, kind, claimed_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (token_id, expires_at, kind) DO NOTHING`,
		k.TokenID, k.ExpiresAt.UnixMilli(), string(k.Kind), now.UnixMilli())
	if err != nil {
		return false, db.fail(op, err, "token not found")
	}
	if won, err := oneRow(res); err != nil || won {
		return won, db.failIf(op, err)
	}
	res, err = db.db.ExecContext(ctx, `UPDATE token_reminders SET claimed_at = $1
		WHERE token_id = $2 AND expires_at = $3 AND kind = $4
		AND sent_at IS NULL AND claimed_at < $5`,
		now.UnixMilli(), k.TokenID, k.ExpiresAt.UnixMilli(), string(k.Kind), staleBefore.UnixMilli())
	if err != nil {
		return false, db.fail(op, err, "")
	}
	won, err := oneRow(res)
	return won, db.failIf(op, err)
}

// MarkReminderSent sets sent_at on a claim.
func (db *DB) MarkReminderSent(ctx context.Context, k gatehouse.ReminderKey, at time.Time) error {
	const op = "mark reminder sent"
	res, err := db.db.ExecContext(ctx, `UPDATE token_reminders SET sent_at = $1
		WHERE token_id = $2 AND expires_at = $3 AND kind = $4`,
		at.UnixMilli(), k.TokenID, k.ExpiresAt.UnixMilli(), string(k.Kind))
	if err == nil {
		err = affected(op, res, "reminder claim not found")
	}
	if err != nil {
		return db.fail(op, err, "")
	}
	return nil
}

// ReleaseReminder deletes an unsent claim; a sent reminder stays recorded.
func (db *DB) ReleaseReminder(ctx context.Context, k gatehouse.ReminderKey) error {
	const op = "release reminder"
	_, err := db.db.ExecContext(ctx, `DELETE FROM token_reminders
		WHERE token_id = $1 AND expires_at = $2 AND kind = $3 AND sent_at IS NULL`,
		k.TokenID, k.ExpiresAt.UnixMilli(), string(k.Kind))
	if err != nil {
		return db.fail(op, err, "")
	}
	return nil
}

// PruneReminders deletes the records of reminders about old expiries.
func (db *DB) PruneReminders(ctx context.Context, before time.Time) error {
	const op = "prune reminders"
	if _, err := db.db.ExecContext(ctx, `DELETE FROM token_reminders WHERE expires_at < $1`, before.UnixMilli()); err != nil {
		return db.fail(op, err, "")
	}
	return nil
}

// oneRow reports whether a statement changed a row.
func oneRow(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	return n > 0, err
}

// failIf is fail for an error that may be nil.
func (db *DB) failIf(op string, err error) error {
	if err == nil {
		return nil
	}
	return db.fail(op, err, "")
}
