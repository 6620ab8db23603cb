package service

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/notify"
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

// RemindLoop runs the token expiry reminder job (RunReminders) at once and
// then every interval until ctx ends. Failures are logged and retried on
// the next run.
func (s *Service) RemindLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.RunReminders(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("token expiry reminders", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunReminders is the job that e-mails token owners before and at expiry,
// run by the system. At any moment a token expiring soon is in exactly one
// window — more than a day left (the week reminder), a day or less (the
// day reminder), or expired — and each window's reminder goes out once per
// expiry date. A token that skips a window (created with two days left, or
// a server that was down) gets only the reminder of the window it is in.
// The node that wins the "expired" reminder records the expiry in the
// audit log, once.
//
// Several nodes may run the job against one database: each reminder is
// claimed in the database before it is sent, so only one node sends it.
//
// It sends every reminder that is due and returns how many it sent. It
// stops at the first failure that may be temporary (the mail server or the
// database unreachable), leaving that reminder for the next run; a message
// the mail server refuses for good is logged and not retried.
func (s *Service) RunReminders(ctx context.Context) (int, error) {
	now := s.now()
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
			tokens, err := s.reminders.PendingReminders(ctx, w.kind, w.after, w.before, now.Add(-claimLease), batch)
			if err != nil {
				return sent, err
			}
			for _, t := range tokens {
				ok, err := s.remind(ctx, users, t, w.kind, now)
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
	if err := s.reminders.PruneReminders(ctx, now.Add(-ExpiredLookback-24*time.Hour)); err != nil {
		return sent, err
	}
	return sent, nil
}

// remind claims and sends one reminder. It reports whether a mail went
// out; a reminder that needs no mail (the owner has no address or is
// suspended, or the token changed meanwhile) is recorded as done.
func (s *Service) remind(ctx context.Context, users map[int64]*gatehouse.User, t *gatehouse.Token, kind gatehouse.ReminderKind, now time.Time) (bool, error) {
	k := gatehouse.ReminderKey{TokenID: t.ID, ExpiresAt: t.ExpiresAt, Kind: kind}
	won, err := s.reminders.ClaimReminder(ctx, k, now, now.Add(-claimLease))
	if gatehouse.IsKind(err, gatehouse.NotFound) {
		return false, nil // deleted meanwhile
	}
	if err != nil || !won {
		return false, err
	}
	done := func() (bool, error) {
		err := s.reminders.MarkReminderSent(ctx, k, now)
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			err = nil
		}
		return false, err
	}
	// Read the token again now that this node owns the reminder: it may
	// have been regenerated (new expiry, other reminders) or deleted.
	cur, err := s.store.FindTokenByID(ctx, t.ID)
	if gatehouse.IsKind(err, gatehouse.NotFound) {
		return done()
	}
	if err != nil {
		return false, s.release(k, err)
	}
	if !cur.ExpiresAt.Equal(t.ExpiresAt) {
		return done()
	}
	if kind == gatehouse.ReminderExpired {
		s.record(ctx, gatehouse.SystemActor(), gatehouse.AuditEvent{Action: gatehouse.AuditTokenExpire, UserID: cur.UserID, TokenID: cur.ID,
			Note: cur.Note, Detail: "last_eight=" + cur.LastEight + " expired=" + cur.ExpiresAt.UTC().Format(time.RFC3339), At: now})
	}
	u, ok := users[cur.UserID]
	if !ok {
		u, err = s.store.FindUserByID(ctx, cur.UserID)
		if gatehouse.IsKind(err, gatehouse.NotFound) {
			return done()
		}
		if err != nil {
			return false, s.release(k, err)
		}
		users[cur.UserID] = u
	}
	if u.Email == "" || u.Suspended {
		return done()
	}
	msg := notify.ReminderMessage(u, cur, kind, s.externalURL)
	err = s.mailer.Send(ctx, msg)
	if gatehouse.IsKind(err, gatehouse.Invalid) {
		s.log.Warn("token expiry reminder refused", "token_id", cur.ID, "user", u.Login, "kind", string(kind), "err", err)
		return done()
	}
	if err != nil {
		return false, s.release(k, err)
	}
	s.log.Info("sent token expiry reminder", "token_id", cur.ID, "user", u.Login, "kind", string(kind))
	if err := s.reminders.MarkReminderSent(ctx, k, now); err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
		return true, err
	}
	return true, nil
}

// release gives a claim back after a failure so that the next run tries
// again, and returns the failure.
func (s *Service) release(k gatehouse.ReminderKey, cause error) error {
	// The run's context may be what failed; releasing must not depend on it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.reminders.ReleaseReminder(ctx, k); err != nil {
		return fmt.Errorf("%w (and releasing the claim failed: %v)", cause, err)
	}
	return cause
}
