package sqldb

import (
	"context"
	"database/sql"
	"strconv"

	"github.com/gatehouse/gatehouse"
)

var _ gatehouse.AuditStore = (*DB)(nil)

// RecordAuditEvent appends e and sets its ID, and At when zero. At is
// kept to the millisecond, like every time in the database.
func (db *DB) RecordAuditEvent(ctx context.Context, e *gatehouse.AuditEvent) error {
	const op = "record audit event"
	at := e.At
	if at.IsZero() {
		at = now()
	}
	var id int64
	err := db.db.QueryRowContext(ctx, `INSERT INTO audit_events
		(action, actor_id, user_id, token_id, note, detail, ip, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING id`,
		string(e.Action), e.ActorID, e.UserID, e.TokenID, e.Note, e.Detail, e.IP, at.UnixMilli()).Scan(&id)
	if err != nil {
		return db.fail(op, err, "")
	}
	e.ID, e.At = id, norm(at)
	return nil
}

// ListAuditEvents returns events matching f, newest first. IDs grow with
// every insert, so ordering by ID is ordering by recording time without a
// tie between events of the same millisecond.
func (db *DB) ListAuditEvents(ctx context.Context, f gatehouse.AuditFilter, page gatehouse.Page) ([]*gatehouse.AuditEvent, error) {
	const op = "list audit events"
	q := `SELECT id, action, actor_id, user_id, token_id, note, detail, ip, at FROM audit_events`
	var args []any
	if f.UserID != 0 {
		q += ` WHERE user_id = $1`
		args = append(args, f.UserID)
	}
	q += ` ORDER BY id DESC LIMIT $` + strconv.Itoa(len(args)+1) + ` OFFSET $` + strconv.Itoa(len(args)+2)
	args = append(args, page.Limit(), page.Offset())
	return queryAll(ctx, db, op, scanAuditEvent, q, args...)
}

func scanAuditEvent(s scanner) (*gatehouse.AuditEvent, error) {
	var (
		e      gatehouse.AuditEvent
		action string
		at     sql.NullInt64
	)
	if err := s.Scan(&e.ID, &action, &e.ActorID, &e.UserID, &e.TokenID, &e.Note, &e.Detail, &e.IP, &at); err != nil {
		return nil, err
	}
	e.Action, e.At = gatehouse.AuditAction(action), fromMsec(at)
	return &e, nil
}
