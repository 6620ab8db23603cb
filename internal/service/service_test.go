package service

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/sqldb"
	"github.com/gatehouse/gatehouse/internal/token"
)

// system is the actor of the command line and background jobs.
var system = gatehouse.SystemActor()

// session is user u signed in to the web UI from ip: every scope.
func session(u *gatehouse.User, ip string) *gatehouse.Actor {
	return &gatehouse.Actor{User: u, IP: ip}
}

// testConfig is a complete Config over one SQLite database in a new
// temporary directory, with a mailbox for its mail.
func testConfig(t *testing.T) (Config, *sqldb.DB) {
	t.Helper()
	dir := t.TempDir()
	db, err := sqldb.Open(context.Background(), filepath.Join(dir, "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return Config{
		Store: db, Audit: db, Keys: db, Sessions: db, Reminders: db, Orgs: db,
		Repos:       &gitrepo.Dir{Root: filepath.Join(dir, "repos")},
		Mailer:      &mailbox{},
		ExternalURL: "https://git.example.com",
	}, db
}

// newService builds a service with service.New over a new SQLite database;
// each option adjusts the Config first (a clock, a mailer, private mode).
func newService(t *testing.T, opts ...func(*Config)) (*Service, *sqldb.DB) {
	t.Helper()
	cfg, db := testConfig(t)
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

func withClock(now func() time.Time) func(*Config) { return func(c *Config) { c.Now = now } }

func withMailer(m gatehouse.Mailer) func(*Config) { return func(c *Config) { c.Mailer = m } }

// mailbox is a gatehouse.Mailer that keeps what it is given.
type mailbox struct {
	mu   sync.Mutex
	msgs []gatehouse.Message
	fail error         // returned by Send when set
	slow time.Duration // per message, to widen races
}

func (m *mailbox) Send(_ context.Context, msg gatehouse.Message) error {
	time.Sleep(m.slow)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.msgs = append(m.msgs, msg)
	return nil
}

// take returns and forgets the messages received so far.
func (m *mailbox) take() []gatehouse.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	msgs := m.msgs
	m.msgs = nil
	return msgs
}

// setFail makes Send fail with err (nil: succeed again).
func (m *mailbox) setFail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

// mustUser creates an account as the system.
func mustUser(t *testing.T, s *Service, nu NewUser) *gatehouse.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), system, nu)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSetupWorksOnce(t *testing.T) {
	ctx := context.Background()
	s, db := newService(t)
	code, err := s.PrepareSetup(ctx)
	if err != nil || len(code) < 32 {
		t.Fatalf("PrepareSetup = %q, %v", code, err)
	}
	// Whoever holds the setup link is the actor: an anonymous browser.
	browser := gatehouse.AnonymousActor("192.0.2.1")
	if _, err := s.CompleteSetup(ctx, browser, "wrong", NewUser{Login: "root", Email: "r@example.com", Password: "long enough"}); !gatehouse.IsKind(err, gatehouse.Forbidden) {
		t.Fatalf("wrong code: %v", err)
	}
	// A validation error does not use the code up.
	if _, err := s.CompleteSetup(ctx, browser, code, NewUser{Login: "root", Email: "r@example.com", Password: "short"}); !gatehouse.IsKind(err, gatehouse.Invalid) {
		t.Fatalf("short password: %v", err)
	}
	// Two browsers racing with the same link: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.CompleteSetup(ctx, browser, code, NewUser{Login: []string{"root", "admin"}[i], Email: []string{"r", "a"}[i] + "@example.com", Password: "long enough"})
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("want exactly one success, got %v and %v", errs[0], errs[1])
	}
	users, _ := db.ListUsers(ctx, gatehouse.Page{})
	if len(users) != 1 || !users[0].SiteAdmin {
		t.Fatalf("users after setup: %+v", users)
	}
	if code, err := s.PrepareSetup(ctx); code != "" || err != nil {
		t.Fatalf("PrepareSetup after setup = %q, %v", code, err)
	}
}

func TestCreateToken(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	s, db := newService(t, withClock(func() time.Time { return now }))
	u := mustUser(t, s, NewUser{Login: "alice", Email: "a@example.com"})
	alice := session(u, "192.0.2.10")
	it, err := s.CreateToken(ctx, alice, NewToken{UserID: u.ID, Note: "ci", Scopes: []string{"user", "gist", "user:email"}})
	if err != nil {
		t.Fatal(err)
	}
	if token.Parse(it.Secret) != nil || !strings.HasPrefix(it.Secret, "gtp_") {
		t.Fatalf("secret %q does not parse", it.Secret)
	}
	if got := strings.Join(it.Token.Scopes, ","); got != "gist,user" || !it.Dropped {
		t.Fatalf("scopes %s dropped %v", got, it.Dropped)
	}
	if want := now.Add(30 * 24 * time.Hour); !it.Token.ExpiresAt.Equal(want) {
		t.Fatalf("default expiry %v, want %v", it.Token.ExpiresAt, want)
	}
	stored, err := db.FindTokenByHash(ctx, token.Hash(it.Secret))
	if err != nil || stored.LastEight != it.Secret[len(it.Secret)-8:] {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	for name, nt := range map[string]NewToken{
		"no note":       {UserID: u.ID, Note: "  "},
		"unknown scope": {UserID: u.ID, Note: "x", Scopes: []string{"repo", "rpeo"}},
		"bad expiry":    {UserID: u.ID, Note: "y", Expires: "2020-01-01"},
	} {
		if _, err := s.CreateToken(ctx, alice, nt); !gatehouse.IsKind(err, gatehouse.Invalid) {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
	if _, err := s.CreateToken(ctx, alice, NewToken{UserID: u.ID, Note: "ci"}); !gatehouse.IsKind(err, gatehouse.Conflict) {
		t.Errorf("duplicate note: %v, want Conflict", err)
	}
	never, err := s.CreateToken(ctx, alice, NewToken{UserID: u.ID, Note: "forever", Expires: "never"})
	if err != nil || !never.Token.ExpiresAt.IsZero() {
		t.Fatalf("never: %+v, %v", never, err)
	}
}

func TestCreateRepoLeavesNothingOnConflict(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	mustUser(t, s, NewUser{Login: "alice", Email: "a@example.com"})
	r, err := s.CreateRepo(ctx, system, NewRepo{Owner: "alice", Name: "demo", Private: true})
	if err != nil || !s.repos.Exists(r.ID) {
		t.Fatalf("CreateRepo = %+v, %v", r, err)
	}
	if _, err := s.CreateRepo(ctx, system, NewRepo{Owner: "alice", Name: "DEMO"}); !gatehouse.IsKind(err, gatehouse.Conflict) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := s.CreateRepo(ctx, system, NewRepo{Owner: "nobody", Name: "x"}); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("missing owner: %v", err)
	}
	for _, bad := range []string{"", "..", "a/b", "x.git", strings.Repeat("a", 101)} {
		if _, err := s.CreateRepo(ctx, system, NewRepo{Owner: "alice", Name: bad}); !gatehouse.IsKind(err, gatehouse.Invalid) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(s.repos.Root, "*.tmp"))
	if len(left) != 0 {
		t.Fatalf("temporary repositories left behind: %v", left)
	}
}
