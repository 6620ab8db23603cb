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

func newService(t *testing.T) *Service {
	t.Helper()
	dir := t.TempDir()
	st, err := sqldb.Open(context.Background(), filepath.Join(dir, "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &Service{Store: st, Repos: &gitrepo.Dir{Root: filepath.Join(dir, "repos")}}
}

func TestSetupWorksOnce(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	code, err := s.PrepareSetup(ctx)
	if err != nil || len(code) < 32 {
		t.Fatalf("PrepareSetup = %q, %v", code, err)
	}
	if _, err := s.CompleteSetup(ctx, "wrong", NewUser{Login: "root", Email: "r@example.com", Password: "long enough"}); !gatehouse.IsKind(err, gatehouse.Forbidden) {
		t.Fatalf("wrong code: %v", err)
	}
	// A validation error does not use the code up.
	if _, err := s.CompleteSetup(ctx, code, NewUser{Login: "root", Email: "r@example.com", Password: "short"}); !gatehouse.IsKind(err, gatehouse.Invalid) {
		t.Fatalf("short password: %v", err)
	}
	// Two browsers racing with the same link: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.CompleteSetup(ctx, code, NewUser{Login: []string{"root", "admin"}[i], Email: []string{"r", "a"}[i] + "@example.com", Password: "long enough"})
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("want exactly one success, got %v and %v", errs[0], errs[1])
	}
	users, _ := s.Store.ListUsers(ctx, gatehouse.Page{})
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
	s := newService(t)
	s.Now = func() time.Time { return now }
	u, err := s.CreateUser(ctx, NewUser{Login: "alice", Email: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	it, err := s.CreateToken(ctx, NewToken{UserID: u.ID, Note: "ci", Scopes: []string{"user", "gist", "user:email"}})
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
	stored, err := s.Store.FindTokenByHash(ctx, token.Hash(it.Secret))
	if err != nil || stored.LastEight != it.Secret[len(it.Secret)-8:] {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	for name, nt := range map[string]NewToken{
		"no note":       {UserID: u.ID, Note: "  "},
		"unknown scope": {UserID: u.ID, Note: "x", Scopes: []string{"repo", "rpeo"}},
		"bad expiry":    {UserID: u.ID, Note: "y", Expires: "2020-01-01"},
	} {
		if _, err := s.CreateToken(ctx, nt); !gatehouse.IsKind(err, gatehouse.Invalid) {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
	if _, err := s.CreateToken(ctx, NewToken{UserID: u.ID, Note: "ci"}); !gatehouse.IsKind(err, gatehouse.Conflict) {
		t.Errorf("duplicate note: %v, want Conflict", err)
	}
	never, err := s.CreateToken(ctx, NewToken{UserID: u.ID, Note: "forever", Expires: "never"})
	if err != nil || !never.Token.ExpiresAt.IsZero() {
		t.Fatalf("never: %+v, %v", never, err)
	}
}

func TestCreateRepoLeavesNothingOnConflict(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	if _, err := s.CreateUser(ctx, NewUser{Login: "alice", Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRepo(ctx, NewRepo{Owner: "alice", Name: "demo", Private: true})
	if err != nil || !s.Repos.Exists(r.ID) {
		t.Fatalf("CreateRepo = %+v, %v", r, err)
	}
	if _, err := s.CreateRepo(ctx, NewRepo{Owner: "alice", Name: "DEMO"}); !gatehouse.IsKind(err, gatehouse.Conflict) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := s.CreateRepo(ctx, NewRepo{Owner: "nobody", Name: "x"}); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("missing owner: %v", err)
	}
	for _, bad := range []string{"", "..", "a/b", "x.git", strings.Repeat("a", 101)} {
		if _, err := s.CreateRepo(ctx, NewRepo{Owner: "alice", Name: bad}); !gatehouse.IsKind(err, gatehouse.Invalid) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(s.Repos.Root, "*.tmp"))
	if len(left) != 0 {
		t.Fatalf("temporary repositories left behind: %v", left)
	}
}
