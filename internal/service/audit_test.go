package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/token"
)

// auditService is a service whose audit log is its SQLite store.
func auditService(t *testing.T) (*Service, gatehouse.AuditStore) {
	t.Helper()
	s := newService(t)
	a := s.Store.(gatehouse.AuditStore)
	s.Audit = a
	return s, a
}

func auditLog(t *testing.T, a gatehouse.AuditStore, userID int64) []*gatehouse.AuditEvent {
	t.Helper()
	evs, err := a.ListAuditEvents(context.Background(), gatehouse.AuditFilter{UserID: userID}, gatehouse.Page{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// noSecret fails when any field of any event holds a secret or its hash.
func noSecret(t *testing.T, evs []*gatehouse.AuditEvent, secrets ...string) {
	t.Helper()
	for _, e := range evs {
		for _, s := range secrets {
			if s == "" {
				continue
			}
			for _, bad := range []string{s, token.Hash(s)} {
				if strings.Contains(fmt.Sprintf("%+v", *e), bad) {
					t.Errorf("event %s holds a secret or its hash: %+v", e.Action, *e)
				}
			}
		}
	}
}

func TestAuditTokenEvents(t *testing.T) {
	s, a := auditService(t)
	ctx := context.Background()
	alice, err := s.CreateUser(ctx, NewUser{Login: "alice", Email: "a@example.com", Password: "a long password"})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := s.CreateUser(ctx, NewUser{Login: "root", Email: "r@example.com", SiteAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	asAlice := WithOrigin(ctx, Origin{ActorID: alice.ID, IP: "192.0.2.10"})
	asAdmin := WithOrigin(ctx, Origin{ActorID: admin.ID, IP: "192.0.2.99"})

	var secrets []string
	issue := func(note string) *IssuedToken {
		t.Helper()
		it, err := s.CreateToken(asAlice, NewToken{UserID: alice.ID, Note: note, Scopes: []string{"repo", "gist"}, Expires: "7d"})
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, it.Secret)
		return it
	}
	laptop := issue("laptop")
	if _, err := s.UpdateToken(asAlice, alice.ID, laptop.Token.ID, "laptop git", []string{"repo"}); err != nil {
		t.Fatal(err)
	}
	regen, err := s.RegenerateToken(asAlice, alice.ID, laptop.Token.ID, "never")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, regen.Secret)
	if err := s.DeleteToken(asAlice, laptop.Token.ID); err != nil {
		t.Fatal(err)
	}
	ci := issue("ci")
	if err := s.DeleteToken(asAdmin, ci.Token.ID); err != nil {
		t.Fatal(err)
	}
	cli := issue("cli")
	if err := s.DeleteToken(ctx, cli.Token.ID); err != nil { // the command line: no origin
		t.Fatal(err)
	}
	one, two := issue("one"), issue("two")
	if n, err := s.RevokeAllTokens(asAlice, alice.ID); err != nil || n != 2 {
		t.Fatalf("RevokeAllTokens = %d, %v", n, err)
	}

	type want struct {
		action  gatehouse.AuditAction
		actor   int64
		ip      string
		tokenID int64
		note    string
		detail  string // a substring
	}
	wants := []want{ // oldest first
		{gatehouse.AuditTokenCreate, alice.ID, "192.0.2.10", laptop.Token.ID, "laptop", "last_eight=" + token.LastEight(laptop.Secret) + " scopes=gist,repo expires="},
		{gatehouse.AuditTokenUpdate, alice.ID, "192.0.2.10", laptop.Token.ID, "laptop git", "scopes=repo "},
		{gatehouse.AuditTokenRegenerate, alice.ID, "192.0.2.10", laptop.Token.ID, "laptop git", "last_eight=" + token.LastEight(regen.Secret) + " scopes=repo expires=never"},
		{gatehouse.AuditTokenDelete, alice.ID, "192.0.2.10", laptop.Token.ID, "laptop git", "last_eight=" + token.LastEight(regen.Secret)},
		{gatehouse.AuditTokenCreate, alice.ID, "192.0.2.10", ci.Token.ID, "ci", ""},
		{gatehouse.AuditTokenAdminRevoke, admin.ID, "192.0.2.99", ci.Token.ID, "ci", ""},
		{gatehouse.AuditTokenCreate, alice.ID, "192.0.2.10", cli.Token.ID, "cli", ""},
		{gatehouse.AuditTokenAdminRevoke, 0, "", cli.Token.ID, "cli", ""},
		{gatehouse.AuditTokenCreate, alice.ID, "192.0.2.10", one.Token.ID, "one", ""},
		{gatehouse.AuditTokenCreate, alice.ID, "192.0.2.10", two.Token.ID, "two", ""},
		{gatehouse.AuditTokenDelete, alice.ID, "192.0.2.10", one.Token.ID, "one", "via=revoke_all"},
		{gatehouse.AuditTokenDelete, alice.ID, "192.0.2.10", two.Token.ID, "two", "via=revoke_all"},
	}
	evs := auditLog(t, a, alice.ID)
	if len(evs) != len(wants) {
		for _, e := range evs {
			t.Logf("%+v", *e)
		}
		t.Fatalf("%d events, want %d", len(evs), len(wants))
	}
	for i, w := range wants {
		e := evs[len(evs)-1-i]
		if e.Action != w.action || e.ActorID != w.actor || e.UserID != alice.ID || e.IP != w.ip ||
			e.TokenID != w.tokenID || e.Note != w.note || !strings.Contains(e.Detail, w.detail) || e.At.IsZero() {
			t.Errorf("event %d = %+v, want %+v", i, *e, w)
		}
	}
	if other := auditLog(t, a, admin.ID); len(other) != 0 {
		t.Errorf("the admin's own log has %d events: revocations belong to the owner's", len(other))
	}
	noSecret(t, evs, secrets...)
}

// A token change whose event cannot be written still happens.
func TestAuditFailureDoesNotStopChange(t *testing.T) {
	s := newService(t)
	s.Audit = failingAudit{}
	ctx := context.Background()
	u, err := s.CreateUser(ctx, NewUser{Login: "alice", Email: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	it, err := s.CreateToken(ctx, NewToken{UserID: u.ID, Note: "n"})
	if err != nil {
		t.Fatalf("CreateToken with a broken audit log: %v", err)
	}
	if err := s.DeleteToken(ctx, it.Token.ID); err != nil {
		t.Fatalf("DeleteToken with a broken audit log: %v", err)
	}
	// And no audit store at all is no audit log.
	s.Audit = nil
	s.RecordAuthFailure(ctx, AuthFailure{IP: "192.0.2.1", Reason: ReasonPassword})
}

type failingAudit struct{}

func (failingAudit) RecordAuditEvent(context.Context, *gatehouse.AuditEvent) error {
	return errors.New("disk full")
}

func (failingAudit) ListAuditEvents(context.Context, gatehouse.AuditFilter, gatehouse.Page) ([]*gatehouse.AuditEvent, error) {
	return nil, nil
}

func TestAuthFailuresRateLimited(t *testing.T) {
	s, a := auditService(t)
	ctx := context.Background()
	now := time.Date(2030, 6, 14, 9, 30, 0, 0, time.UTC)
	var mu sync.Mutex
	s.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	u, err := s.CreateUser(ctx, NewUser{Login: "alice", Email: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}

	// A flood from one address, several goroutines at once: one row.
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			s.RecordAuthFailure(ctx, AuthFailure{IP: "192.0.2.7", Reason: ReasonUnknownToken})
		})
	}
	wg.Wait()
	// Another address is recorded; so is the same /64 only once.
	s.RecordAuthFailure(ctx, AuthFailure{IP: "192.0.2.8", UserID: u.ID, Reason: ReasonPassword})
	s.RecordAuthFailure(ctx, AuthFailure{IP: "2001:db8:1:2::1", TokenID: 9, UserID: u.ID, Note: "old", Reason: ReasonExpiredToken})
	s.RecordAuthFailure(ctx, AuthFailure{IP: "2001:db8:1:2::ffff", Reason: ReasonUnknownToken})
	if n := len(auditLog(t, a, 0)); n != 3 {
		t.Fatalf("%d events after the flood, want 3", n)
	}
	advance(59 * time.Second)
	s.RecordAuthFailure(ctx, AuthFailure{IP: "192.0.2.7", Reason: ReasonUnknownToken})
	advance(time.Second)
	s.RecordAuthFailure(ctx, AuthFailure{IP: "192.0.2.7", Reason: ReasonMalformed})
	evs := auditLog(t, a, 0)
	if len(evs) != 4 || evs[0].Detail != ReasonMalformed || evs[0].IP != "192.0.2.7" {
		t.Fatalf("after a minute: %d events, newest %+v", len(evs), *evs[0])
	}
	for _, e := range evs {
		if e.Action != gatehouse.AuditAuthFailure || e.ActorID != 0 {
			t.Errorf("failure recorded as %+v", *e)
		}
	}
	mine := auditLog(t, a, u.ID)
	if len(mine) != 2 || mine[0].TokenID != 9 || mine[0].Note != "old" || mine[1].Detail != ReasonPassword {
		t.Errorf("alice's failures: %+v", mine)
	}
}

func TestFailureLimiterBounded(t *testing.T) {
	var l failureLimiter
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range failureLimitClients {
		if !l.allow(fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255), now) {
			t.Fatalf("address %d refused below the bound", i)
		}
	}
	if l.allow("192.0.2.1", now.Add(time.Second)) {
		t.Error("a new address was recorded while the table is full of recent ones")
	}
	if !l.allow("192.0.2.1", now.Add(time.Minute)) {
		t.Error("a new address was refused after the others aged")
	}
	if len(l.last) != 1 {
		t.Errorf("%d addresses kept after the purge, want 1", len(l.last))
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"::ffff:192.0.2.1":     "192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2::9":      "2001:db8:1:2::/64",
		"not an address":       "not an address",
		"":                     "",
	} {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}
