package gatehouse

import (
	"context"
	"time"
)

// ReminderKind names one of the e-mails sent about a token's expiry.
type ReminderKind string

// The reminders: a week before expiry, a day before, and at expiry. A token
// gets each at most once per expiry date, so regenerating it (which sets a
// new expiry) makes them due again.
const (
	ReminderWeek    ReminderKind = "week"
	ReminderDay     ReminderKind = "day"
	ReminderExpired ReminderKind = "expired"
)

// ReminderKey identifies one reminder: a token, the expiry it is about and
// its kind.
type ReminderKey struct {
	TokenID   int64
	ExpiresAt time.Time
	Kind      ReminderKind
}

// ReminderStore remembers which expiry reminders were sent. The SQL
// adapters implement it beside Store. Several server nodes may share one
// database: a reminder is sent by whichever node claims it first.
//
// Every method returns *Error values: NotFound when the token is gone,
// Unavailable when the database is busy, Internal otherwise.
type ReminderStore interface {
	// PendingReminders returns up to limit tokens whose expiry lies in
	// (after, notAfter] and which have no reminder of kind for that expiry,
	// neither sent nor claimed at or after staleBefore, soonest expiry first.
	PendingReminders(ctx context.Context, kind ReminderKind, after, notAfter, staleBefore time.Time, limit int) ([]*Token, error)
	// ClaimReminder records that the caller is about to send the reminder
	// and reports whether it won: false when it was already sent, or claimed
	// by someone else at or after staleBefore. Returns NotFound when the
	// token no longer exists.
	ClaimReminder(ctx context.Context, k ReminderKey, now, staleBefore time.Time) (bool, error)
	// MarkReminderSent completes a claim. Returns NotFound when there is no
	// claim (the token was deleted meanwhile).
	MarkReminderSent(ctx context.Context, k ReminderKey, at time.Time) error
	// ReleaseReminder drops an unsent claim so that the reminder is tried
	// again later.
	ReleaseReminder(ctx context.Context, k ReminderKey) error
	// PruneReminders forgets reminders about expiries before the given
	// time, which no run looks at any more.
	PruneReminders(ctx context.Context, before time.Time) error
}
