package notify

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Lead times of the reminders, and how long after expiry a token still gets
// the "has expired" mail: a server started after a long pause, or upgraded
// to a version with reminders, does not mail about tokens that died long
// ago.
const (
	WeekLead        = 7 * 24 * time.Hour
	DayLead         = 24 * time.Hour
	ExpiredLookback = 7 * 24 * time.Hour
)

const (
	// claimLease is how long a claim keeps other nodes away. A node that
	// stops between claiming and sending leaves a claim that another one
	// takes over after this.
	claimLease = 10 * time.Minute
	// batch is how many tokens one query returns.
	batch = 100
	// maxBatches bounds one run; the next run continues.
	maxBatches = 50
)

// Reminders is the job that e-mails token owners before and at expiry.
// At any moment a token expiring soon is in exactly one window — more than
// a day left (the week reminder), a day or less (the day reminder), or
// expired — and each window's reminder goes out once per expiry date. A
// token that skips a window (created with two days left, or a server that
// was down) gets only the reminder of the window it is in.
//
// Several nodes may run the job against one database: each reminder is
// claimed in the database before it is sent, so only one node sends it.
type Reminders struct {
	Store     gatehouse.Store
	Reminders gatehouse.ReminderStore
	Mailer    gatehouse.Mailer
	// Audit, if set, records each token's expiry in the audit log, once:
	// the node that wins the "expired" reminder records it.
	Audit gatehouse.AuditStore
	// ExternalURL is the server's base URL without a trailing slash; the
	// mails link to the token's regenerate page under it.
	ExternalURL string
	Log         *slog.Logger // nil discards
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Loop runs the job at once and then every interval until ctx ends.
// Failures are logged and retried on the next run.
func (r *Reminders) Loop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := r.Run(ctx); err != nil && ctx.Err() == nil {
			r.log().Warn("token expiry reminders", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Run sends every reminder that is due and returns how many it sent. It
// stops at the first failure that may be temporary (the mail server or the
// database unreachable), leaving that reminder for the next run; a message
// the mail server refuses for good is logged and not retried.
func (r *Reminders) Run(ctx context.Context) (int, error) {
	now := clock(r.Now)
	sent := 0
	windows := []struct {
		kind          gatehouse.ReminderKind
		after, before time.Time
	}{
		{gatehouse.ReminderExpired, now.Add(-ExpiredLookback), now},
		{gatehouse.ReminderDay, now, now.Add(DayLead)},
		{gatehouse.ReminderWeek, now.Add(DayLead), now.Add(WeekLead)},
	}
	users := map[int64]*gatehouse.User{}
	for _, w := range windows {
		for range maxBatches {
			tokens, err := r.Reminders.PendingReminders(ctx, w.kind, w.after, w.before, now.Add(-claimLease), batch)
			if err != nil {
				return sent, err
			}
			for _, t := range tokens {
				ok, err := r.remind(ctx, users, t, w.kind, now)
				if err != nil {
					return sent, err
				}
				if ok {
					sent++
				}
			}
			if len(tokens) < batch {
				break
			}
		}
	}
	if err := r.Reminders.PruneReminders(ctx, now.Add(-ExpiredLookback-24*time.Hour)); err != nil {
		return sent, err
	}
	return sent, nil
}

// remind claims and sends one reminder. It reports whether a mail went
// out; a reminder that needs no mail (the owner has no address or is
// suspended, or the token changed meanwhile) is recorded as done.
func (r *Reminders) remind(ctx context.Context, users map[int64]*gatehouse.User, t *gatehouse.Token, kind gatehouse.ReminderKind, now time.Time) (bool, error) {
	k := gatehouse.ReminderKey{TokenID: t.ID, ExpiresAt: t.ExpiresAt, Kind: kind}
	won, err := r.Reminders.ClaimReminder(ctx, k, now, now.Add(-claimLease))
	if gatehouse.IsKind(err, gatehouse.NotFound) {
		return false, nil // deleted meanwhile
	}
	if err != nil || !won {
		return false, err
	}
	done := func() (bool, error) {
		err := r.Reminders.MarkReminderSent(ctx, k, now)
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			err = nil
		}
		return false, err
	}
	// Read the token again now that this node owns the reminder: it may
	// have been regenerated (new expiry, other reminders) or deleted.
	cur, err := r.Store.FindTokenByID(ctx, t.ID)
	if gatehouse.IsKind(err, gatehouse.NotFound) {
		return done()
	}
	if err != nil {
		return false, r.release(k, err)
	}
	if !cur.ExpiresAt.Equal(t.ExpiresAt) {
		return done()
	}
	if kind == gatehouse.ReminderExpired && r.Audit != nil {
		ev := &gatehouse.AuditEvent{Action: gatehouse.AuditTokenExpire, UserID: cur.UserID, TokenID: cur.ID,
			Note: cur.Note, Detail: "last_eight=" + cur.LastEight + " expired=" + cur.ExpiresAt.UTC().Format(time.RFC3339), At: now}
		if err := r.Audit.RecordAuditEvent(ctx, ev); err != nil {
			r.log().Warn("recording token expiry failed", "token_id", cur.ID, "err", err)
		}
	}
	u, ok := users[cur.UserID]
	if !ok {
		u, err = r.Store.FindUserByID(ctx, cur.UserID)
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return done()
		}
		if err != nil {
			return false, r.release(k, err)
		}
		users[cur.UserID] = u
	}
	if u.Email == "" || u.Suspended {
		return done()
	}
	msg := reminderMessage(u, cur, kind, r.ExternalURL)
	err = r.Mailer.Send(ctx, msg)
	if gatehouse.IsKind(err, gatehouse.Invalid) {
		r.log().Warn("token expiry reminder refused", "token_id", cur.ID, "user", u.Login, "kind", string(kind), "err", err)
		return done()
	}
	if err != nil {
		return false, r.release(k, err)
	}
	r.log().Info("sent token expiry reminder", "token_id", cur.ID, "user", u.Login, "kind", string(kind))
	if err := r.Reminders.MarkReminderSent(ctx, k, now); err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
		return true, err
	}
	return true, nil
}

// release gives a claim back after a failure so that the next run tries
// again, and returns the failure.
func (r *Reminders) release(k gatehouse.ReminderKey, cause error) error {
	// The run's context may be what failed; releasing must not depend on it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Reminders.ReleaseReminder(ctx, k); err != nil {
		return fmt.Errorf("%w (and releasing the claim failed: %v)", cause, err)
	}
	return cause
}

func (r *Reminders) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}
