package sqldb_test

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

func TestReminderStore(t *testing.T) {
	for name, newDB := range databases() {
		t.Run(name, func(t *testing.T) {
			url := newDB(t)
			db := openFile(t, url)
			defer db.Close()
			ctx := t.Context()
			now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			u := &gatehouse.User{Login: "alice", Email: "alice@example.com"}
			if err := db.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			mk := func(note string, exp time.Time) *gatehouse.Token {
				tok := &gatehouse.Token{UserID: u.ID, Note: note, Hash: "h-" + note, LastEight: "12345678", ExpiresAt: exp}
				if err := db.CreateToken(ctx, tok); err != nil {
					t.Fatal(err)
				}
				return tok
			}
			a := mk("a", now.Add(2*time.Hour))
			b := mk("b", now.Add(time.Hour))
			mk("never", time.Time{})
			mk("later", now.Add(48*time.Hour))
			stale := now.Add(-10 * time.Minute)
			pending := func(step string, want ...*gatehouse.Token) {
				t.Helper()
				got, err := db.PendingReminders(ctx, gatehouse.ReminderDay, now, now.Add(24*time.Hour), stale, 10)
				if err != nil {
					t.Fatal(err)
				}
				ids := func(ts []*gatehouse.Token) (s []int64) {
					for _, t := range ts {
						s = append(s, t.ID)
					}
					return s
				}
				if g, w := ids(got), ids(want); !slices.Equal(g, w) {
					t.Errorf("%s: pending %v, want %v (soonest first)", step, g, w)
				}
			}
			pending("fresh", b, a)
			if got, _ := db.PendingReminders(ctx, gatehouse.ReminderDay, now, now.Add(24*time.Hour), stale, 1); len(got) != 1 || got[0].ID != b.ID {
				t.Errorf("limit 1: %v", got)
			}

			ka := gatehouse.ReminderKey{TokenID: a.ID, ExpiresAt: a.ExpiresAt, Kind: gatehouse.ReminderDay}
			if won, err := db.ClaimReminder(ctx, ka, now, stale); !won || err != nil {
				t.Fatalf("first claim = %v, %v", won, err)
			}
			if won, err := db.ClaimReminder(ctx, ka, now, stale); won || err != nil {
				t.Fatalf("second claim = %v, %v", won, err)
			}
			pending("a claimed", b)
			// Another kind, or another expiry, is another reminder.
			if won, _ := db.ClaimReminder(ctx, gatehouse.ReminderKey{TokenID: a.ID, ExpiresAt: a.ExpiresAt, Kind: gatehouse.ReminderWeek}, now, stale); !won {
				t.Error("week reminder blocked by the day reminder")
			}

			// A claim left by a node that stopped is taken over after the lease.
			later := now.Add(11 * time.Minute)
			if won, _ := db.ClaimReminder(ctx, ka, later, later.Add(-10*time.Minute)); !won {
				t.Error("stale claim not taken over")
			}
			if won, _ := db.ClaimReminder(ctx, ka, later, later.Add(-10*time.Minute)); won {
				t.Error("fresh claim taken over")
			}
			// Released claims are due again; sent ones never.
			if err := db.ReleaseReminder(ctx, ka); err != nil {
				t.Fatal(err)
			}
			pending("a released", b, a)
			if won, _ := db.ClaimReminder(ctx, ka, now, stale); !won {
				t.Fatal("claim after release refused")
			}
			if err := db.MarkReminderSent(ctx, ka, now); err != nil {
				t.Fatal(err)
			}
			if err := db.ReleaseReminder(ctx, ka); err != nil {
				t.Fatal(err)
			}
			farLater := now.Add(time.Hour)
			if won, _ := db.ClaimReminder(ctx, ka, farLater, farLater.Add(-10*time.Minute)); won {
				t.Error("sent reminder claimed again")
			}
			pending("a sent", b)

			// A new expiry (regeneration) is due again.
			a.ExpiresAt = now.Add(3 * time.Hour)
			if err := db.UpdateToken(ctx, a); err != nil {
				t.Fatal(err)
			}
			pending("a regenerated", b, a)

			// Unknown tokens cannot be claimed; deleting a token drops its records.
			if _, err := db.ClaimReminder(ctx, gatehouse.ReminderKey{TokenID: 9999, ExpiresAt: now, Kind: gatehouse.ReminderDay}, now, stale); !gatehouse.IsKind(err, gatehouse.NotFound) {
				t.Errorf("claim for a missing token: %v, want NotFound", err)
			}
			if err := db.MarkReminderSent(ctx, gatehouse.ReminderKey{TokenID: b.ID, ExpiresAt: b.ExpiresAt, Kind: gatehouse.ReminderDay}, now); !gatehouse.IsKind(err, gatehouse.NotFound) {
				t.Errorf("mark without a claim: %v, want NotFound", err)
			}
			if err := db.DeleteToken(ctx, a.ID); err != nil {
				t.Fatalf("delete a token with reminders: %v", err)
			}
			if err := db.PruneReminders(ctx, now.Add(24*time.Hour)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReminderClaimRace claims one reminder from many connections of
// several handles at once: exactly one wins.
func TestReminderClaimRace(t *testing.T) {
	for name, newDB := range databases() {
		t.Run(name, func(t *testing.T) {
			url := newDB(t)
			db := openFile(t, url)
			defer db.Close()
			ctx := t.Context()
			u := &gatehouse.User{Login: "alice"}
			if err := db.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Millisecond)
			tok := &gatehouse.Token{UserID: u.ID, Note: "n", Hash: "h", ExpiresAt: now.Add(time.Hour)}
			if err := db.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			other := openFile(t, url)
			defer other.Close()
			for round := range 5 {
				k := gatehouse.ReminderKey{TokenID: tok.ID, ExpiresAt: tok.ExpiresAt.Add(time.Duration(round) * time.Second), Kind: gatehouse.ReminderDay}
				var wins atomic.Int32
				var wg sync.WaitGroup
				for i := range 16 {
					h := db
					if i%2 == 1 {
						h = other
					}
					wg.Go(func() {
						won, err := h.ClaimReminder(ctx, k, now, now.Add(-10*time.Minute))
						if err != nil {
							t.Error(err)
						}
						if won {
							wins.Add(1)
						}
					})
				}
				wg.Wait()
				if n := wins.Load(); n != 1 {
					t.Fatalf("round %d: %d winners", round, n)
				}
			}
		})
	}
}
