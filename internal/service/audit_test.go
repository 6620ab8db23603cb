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
	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/token"
)

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
	s, a := newService(t)
	ctx := context.Background()
	alice := mustUser(t, s, NewUser{Login: "alice", Email: "a@example.com", Password: "a long password"})
	admin := mustUser(t, s, NewUser{Login: "root", Email: "r@example.com", SiteAdmin: true})
	// The owner and a site admin in their browser sessions.
	asAlice := session(alice, "192.0.2.10")
	asAdmin := session(admin, "192.0.2.99")

	var secrets []string
	issue := func(note string) *IssuedToken {
		t.Helper()
		it, err := s.CreateToken(ctx, asAlice, NewToken{UserID: alice.ID, Note: note, Scopes: []string{"repo", "gist"}, Expires: "7d"})
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, it.Secret)
		return it
	}
	laptop := issue("laptop")
	if _, err := s.UpdateToken(ctx, asAlice, laptop.Token.ID, "laptop git", []string{"repo"}); err != nil {
		t.Fatal(err)
	}
	regen, err := s.RegenerateToken(ctx, asAlice, laptop.Token.ID, "never")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, regen.Secret)
	if _, err := s.DeleteToken(ctx, asAlice, laptop.Token.ID); err != nil {
		t.Fatal(err)
	}
	ci := issue("ci")
	if _, err := s.DeleteToken(ctx, asAdmin, ci.Token.ID); err != nil {
		t.Fatal(err)
	}
	cli := issue("cli")
	if _, err := s.DeleteToken(ctx, system, cli.Token.ID); err != nil { // the command line
		t.Fatal(err)
	}
	one, two := issue("one"), issue("two")
	if n, err := s.RevokeAllTokens(ctx, asAlice, alice.ID); err != nil || n != 2 {
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
	s, db := newService(t, func(c *Config) { c.Audit = failingAudit{} })
	ctx := context.Background()
	u := mustUser(t, s, NewUser{Login: "alice", Email: "a@example.com"})
	it, err := s.CreateToken(ctx, system, NewToken{UserID: u.ID, Note: "n"})
	if err != nil {
		t.Fatalf("CreateToken with a broken audit log: %v", err)
	}
	if _, err := s.DeleteToken(ctx, system, it.Token.ID); err != nil {
		t.Fatalf("DeleteToken with a broken audit log: %v", err)
	}
	if _, err := db.FindTokenByID(ctx, it.Token.ID); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("the token outlived DeleteToken with a broken audit log: %v", err)
	}
	// A failure that cannot be recorded is dropped, not returned or
	// panicked on. (No audit store at all is refused by New: see
	// TestNewRequiresEveryStore.)
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
	ctx := context.Background()
	now := time.Date(2030, 6, 14, 9, 30, 0, 0, time.UTC)
	var mu sync.Mutex
	s, a := newService(t, withClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }))
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	u := mustUser(t, s, NewUser{Login: "alice", Email: "a@example.com"})

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

// A refused token is described for the audit log by id and note only,
// with the reason (moved here from the server, which used to build the
// description itself).
func TestRecordTokenFailure(t *testing.T) {
	expired := &gatehouse.Token{ID: 4, UserID: 2, Note: "old", Hash: "h", LastEight: "12345678"}
	for _, c := range []struct {
		in   auth.Failure
		want AuthFailure
	}{
		{auth.Failure{IP: "192.0.2.1", Malformed: true}, AuthFailure{IP: "192.0.2.1", Reason: ReasonMalformed}},
		{auth.Failure{IP: "192.0.2.1"}, AuthFailure{IP: "192.0.2.1", Reason: ReasonUnknownToken}},
		{auth.Failure{IP: "192.0.2.1", Token: expired}, AuthFailure{IP: "192.0.2.1", UserID: 2, TokenID: 4, Note: "old", Reason: ReasonExpiredToken}},
	} {
		s, a := newService(t)
		s.recordTokenFailure(context.Background(), c.in)
		evs := auditLog(t, a, 0)
		if len(evs) != 1 {
			t.Fatalf("recordTokenFailure(%+v): %d events, want 1", c.in, len(evs))
		}
		e := evs[0]
		got := AuthFailure{IP: e.IP, UserID: e.UserID, TokenID: e.TokenID, Note: e.Note, Reason: e.Detail}
		if got != c.want || e.Action != gatehouse.AuditAuthFailure || e.ActorID != 0 {
			t.Errorf("recordTokenFailure(%+v) recorded %+v, want %+v", c.in, *e, c.want)
		}
		noSecret(t, evs, expired.Hash)
	}
}

// The authenticator reports refused tokens to the audit log through the
// service: a real expired token is recorded under its owner.
func TestAuthenticateRecordsFailure(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 6, 14, 9, 30, 0, 0, time.UTC)
	var mu sync.Mutex
	s, a := newService(t, withClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }))
	u := mustUser(t, s, NewUser{Login: "alice", Email: "a@example.com"})
	it, err := s.CreateToken(ctx, session(u, "192.0.2.10"), NewToken{UserID: u.ID, Note: "short-lived", Expires: "7d"})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(8 * 24 * time.Hour)
	mu.Unlock()
	_, err = s.Authenticate(ctx, gatehouse.Credential{Kind: gatehouse.TokenCredential, Secret: it.Secret, IP: "192.0.2.20"})
	if !errors.Is(err, ErrBadCredentials) || !gatehouse.IsKind(err, gatehouse.Unauthenticated) {
		t.Fatalf("Authenticate with an expired token: %v", err)
	}
	evs := auditLog(t, a, u.ID)
	var failures []*gatehouse.AuditEvent
	for _, e := range evs {
		if e.Action == gatehouse.AuditAuthFailure {
			failures = append(failures, e)
		}
	}
	if len(failures) != 1 {
		t.Fatalf("%d failures recorded for alice, want 1: %+v", len(failures), evs)
	}
	if e := failures[0]; e.TokenID != it.Token.ID || e.Note != "short-lived" || e.Detail != ReasonExpiredToken || e.IP != "192.0.2.20" || e.ActorID != 0 {
		t.Errorf("failure recorded as %+v", *e)
	}
	noSecret(t, evs, it.Secret)
}
