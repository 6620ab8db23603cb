package auth

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/sqldb"
	"github.com/gatehouse/gatehouse/internal/token"
)

// countingStore counts token lookups, to prove what never reaches the
// database.
type countingStore struct {
	gatehouse.Store
	lookups atomic.Int64
	uses    atomic.Int64
}

func (c *countingStore) FindTokenByHash(ctx context.Context, h string) (*gatehouse.Token, error) {
	c.lookups.Add(1)
	return c.Store.FindTokenByHash(ctx, h)
}

func (c *countingStore) RecordTokenUses(ctx context.Context, u []gatehouse.TokenUse) error {
	c.uses.Add(int64(len(u)))
	return c.Store.RecordTokenUses(ctx, u)
}

type fixture struct {
	path  string
	store *countingStore
	user  *gatehouse.User
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "g.db")
	st, err := sqldb.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	u := &gatehouse.User{Login: "alice", Email: "a@example.com"}
	if err := st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return &fixture{path: path, store: &countingStore{Store: st}, user: u}
}

func (f *fixture) token(t testing.TB, note string, expires time.Time) (string, *gatehouse.Token) {
	t.Helper()
	secret, err := token.Generate(token.DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	tk := &gatehouse.Token{UserID: f.user.ID, Note: note, Scopes: []string{"repo"}, Hash: token.Hash(secret), LastEight: token.LastEight(secret), ExpiresAt: expires}
	if err := f.store.CreateToken(context.Background(), tk); err != nil {
		t.Fatal(err)
	}
	return secret, tk
}

func TestToken(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := New(f.store, Config{}, nil)
	secret, _ := f.token(t, "ok", time.Time{})
	actor, err := a.Token(ctx, secret, "127.0.0.1")
	if err != nil || actor.Login() != "alice" || actor.Token == nil || actor.Token.Scopes[0] != "repo" {
		t.Fatalf("Token = %+v, %v", actor, err)
	}
	if _, err := a.Token(ctx, secret, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if n := f.store.lookups.Load(); n != 1 {
		t.Errorf("%d database lookups for two uses, want 1 (cached)", n)
	}

	for name, s := range map[string]string{
		"empty":        "",
		"password":     "hunter22",
		"bad checksum": secret[:39] + otherChar(secret[39]),
		"too short":    secret[:39],
	} {
		before := f.store.lookups.Load()
		_, err := a.Token(ctx, s, "127.0.0.1")
		if !gatehouse.IsKind(err, gatehouse.Unauthenticated) || gatehouse.ErrorMessage(err) != BadCredentials {
			t.Errorf("%s: err %v, want Bad credentials", name, err)
		}
		if f.store.lookups.Load() != before {
			t.Errorf("%s: a malformed token reached the database", name)
		}
	}
	unknown, _ := token.Generate(token.DefaultPrefix)
	if _, err := a.Token(ctx, unknown, "127.0.0.1"); gatehouse.ErrorMessage(err) != BadCredentials {
		t.Errorf("unknown token: %v", err)
	}
}

func TestExpired(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	a := New(f.store, Config{Now: func() time.Time { return now }}, nil)
	secret, _ := f.token(t, "short", now.Add(time.Hour))
	if _, err := a.Token(context.Background(), secret, "ip"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour) // cached, but expiry is checked on every use
	if _, err := a.Token(context.Background(), secret, "ip"); gatehouse.ErrorMessage(err) != BadCredentials {
		t.Fatalf("expired token: %v", err)
	}
}

func TestRevocationFromAnotherProcess(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := New(f.store, Config{}, nil)
	secret, tk := f.token(t, "x", time.Time{})
	if _, err := a.Token(ctx, secret, "ip"); err != nil {
		t.Fatal(err)
	}
	// A second handle on the same file stands for the admin command.
	other, err := sqldb.Open(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.DeleteToken(ctx, tk.ID); err != nil {
		t.Fatal(err)
	}
	// Until this node polls, its cache still holds the token: what ends it
	// is Poll, which the next step proves.
	if _, err := a.Token(ctx, secret, "ip"); err != nil {
		t.Fatalf("the cached token failed before any poll (%v): the test would prove nothing about Poll", err)
	}
	if err := a.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Token(ctx, secret, "ip"); gatehouse.ErrorMessage(err) != BadCredentials {
		t.Fatalf("after Poll a deleted token still works: %v", err)
	}
}

func TestForgetIsImmediate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := New(f.store, Config{}, nil)
	secret, tk := f.token(t, "x", time.Time{})
	a.Token(ctx, secret, "ip")
	f.store.DeleteToken(ctx, tk.ID)
	a.Forget(tk.ID, tk.UserID)
	if _, err := a.Token(ctx, secret, "ip"); err == nil {
		t.Fatal("forgotten, deleted token still works")
	}
}

func TestSuspendedUser(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := New(f.store, Config{}, nil)
	secret, _ := f.token(t, "x", time.Time{})
	a.Token(ctx, secret, "ip")
	f.user.Suspended = true
	if err := f.store.UpdateUser(ctx, f.user); err != nil {
		t.Fatal(err)
	}
	a.Poll(ctx)
	if _, err := a.Token(ctx, secret, "ip"); !gatehouse.IsKind(err, gatehouse.Forbidden) {
		t.Fatalf("suspended user's token: %v", err)
	}
}

func TestThrottle(t *testing.T) {
	f := newFixture(t)
	a := New(f.store, Config{MaxFailures: 3, FailureWindow: time.Minute}, nil)
	secret, _ := f.token(t, "x", time.Time{})
	ctx := context.Background()
	for i := 0; i < 10; i++ { // not tokens: not counted
		a.Token(ctx, "gtp_nonsense", "10.0.0.1")
	}
	var err error
	for i := 0; i < 3; i++ {
		guess, _ := token.Generate(token.DefaultPrefix)
		_, err = a.Token(ctx, guess, "10.0.0.1")
	}
	if gatehouse.ErrorMessage(err) != TooManyAttempts {
		t.Fatalf("third failed guess: %v, want the lockout message", err)
	}
	if _, err := a.Token(ctx, secret, "10.0.0.1"); err != nil {
		t.Fatalf("a live token from a locked-out address: %v", err)
	}
	guess, _ := token.Generate(token.DefaultPrefix)
	if _, err := a.Token(ctx, guess, "10.0.0.2"); gatehouse.ErrorMessage(err) != BadCredentials {
		t.Fatalf("another address is not locked out: %v", err)
	}
}

func TestLastUsedWrittenOncePerInterval(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	now := time.Now()
	a := New(f.store, Config{Now: func() time.Time { return now }}, nil)
	secret, tk := f.token(t, "x", time.Time{})
	for i := 0; i < 100; i++ {
		a.Token(ctx, secret, "192.0.2.7")
	}
	if f.store.uses.Load() != 0 {
		t.Fatal("a request wrote to the database")
	}
	a.Flush(ctx)
	a.Flush(ctx)
	if n := f.store.uses.Load(); n != 1 {
		t.Fatalf("%d use records written, want 1", n)
	}
	got, _ := f.store.FindTokenByID(ctx, tk.ID)
	if got.LastUsedIP != "192.0.2.7" || got.LastUsedAt.IsZero() {
		t.Fatalf("last used = %v from %q", got.LastUsedAt, got.LastUsedIP)
	}
	now = now.Add(61 * time.Second)
	a.Token(ctx, secret, "192.0.2.8")
	a.Flush(ctx)
	if n := f.store.uses.Load(); n != 2 {
		t.Fatalf("%d use records after a minute, want 2", n)
	}
}

// BenchmarkTokenCached is the per-request cost of checking a token the
// server has seen before: parse, checksum, SHA-256, one map read.
func BenchmarkTokenCached(b *testing.B) {
	f := newFixture(b)
	a := New(f.store, Config{}, nil)
	secret, _ := f.token(b, "x", time.Time{})
	ctx := context.Background()
	if _, err := a.Token(ctx, secret, "127.0.0.1"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Token(ctx, secret, "127.0.0.1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenUncached adds the indexed database lookup of token and
// user (SQLite, WAL) to every check.
func BenchmarkTokenUncached(b *testing.B) {
	f := newFixture(b)
	a := New(f.store, Config{}, nil)
	secret, tk := f.token(b, "x", time.Time{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		a.Forget(tk.ID, 0)
		if _, err := a.Token(ctx, secret, "127.0.0.1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenRejected is a well-formed token with a wrong checksum:
// refused without touching cache or database.
func BenchmarkTokenRejected(b *testing.B) {
	f := newFixture(b)
	a := New(f.store, Config{MaxFailures: 1 << 30}, nil)
	bad := "gtp_" + "012345678901234567890123456789" + "000000"
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		a.Token(ctx, bad, "127.0.0.1")
	}
}

// otherChar returns a base62 character different from c, so that changing a
// token's last character always breaks its checksum.
func otherChar(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

// blockingStore pauses the user lookup of the first token check so that a
// deletion can happen between reading the token and caching it.
type blockingStore struct {
	gatehouse.Store
	block, reached chan struct{}
}

func (b *blockingStore) FindUserByID(ctx context.Context, id int64) (*gatehouse.User, error) {
	u, err := b.Store.FindUserByID(ctx, id)
	if b.block != nil {
		close(b.reached)
		<-b.block
		b.block = nil
	}
	return u, err
}

// A request that read a token just before this node deleted it must not
// put it back into the cache: the deletion wins at once here.
func TestForgetWinsOverRacingLookup(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	secret, tk := f.token(t, "race", time.Time{})
	bs := &blockingStore{Store: f.store.Store, block: make(chan struct{}), reached: make(chan struct{})}
	a := New(bs, Config{}, nil)
	done := make(chan struct{})
	go func() { a.Token(ctx, secret, "ip"); close(done) }()
	<-bs.reached
	if err := f.store.DeleteToken(ctx, tk.ID); err != nil {
		t.Fatal(err)
	}
	a.Forget(tk.ID, tk.UserID)
	close(bs.block)
	<-done
	if _, err := a.Token(ctx, secret, "ip"); err == nil {
		t.Fatal("a token deleted on this node was accepted again before the next poll")
	}
}

// fineGrained stores a fine-grained token of alice selecting n of her
// repositories, created for it.
func (f *fixture) fineGrained(b testing.TB, n int) (string, *gatehouse.Token) {
	b.Helper()
	ctx := context.Background()
	secret, err := token.GenerateFineGrained(token.DefaultPrefix)
	if err != nil {
		b.Fatal(err)
	}
	tk := &gatehouse.Token{UserID: f.user.ID, Kind: gatehouse.FineGrainedToken, Note: "fg", TargetID: f.user.ID,
		Repos: gatehouse.SelectedRepos, Permissions: map[string]int{"contents": 2}, Hash: token.Hash(secret), LastEight: token.LastEight(secret)}
	st := f.store.Store.(*sqldb.DB)
	for i := 0; i < n; i++ {
		r := &gatehouse.Repo{OwnerID: f.user.ID, Name: fmt.Sprintf("r%d", i), DefaultBranch: "main"}
		if err := st.CreateRepo(ctx, r); err != nil {
			b.Fatal(err)
		}
		tk.RepoIDs = append(tk.RepoIDs, r.ID)
	}
	if err := f.store.CreateToken(ctx, tk); err != nil {
		b.Fatal(err)
	}
	return secret, tk
}

// BenchmarkFineGrainedCached is BenchmarkTokenCached for a fine-grained
// token selecting 50 repositories.
func BenchmarkFineGrainedCached(b *testing.B) {
	f := newFixture(b)
	a := New(f.store, Config{}, nil)
	secret, _ := f.fineGrained(b, 50)
	ctx := context.Background()
	if _, err := a.Token(ctx, secret, "127.0.0.1"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Token(ctx, secret, "127.0.0.1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFineGrainedUncached is BenchmarkTokenUncached for a
// fine-grained token selecting 50 repositories (one joined query).
func BenchmarkFineGrainedUncached(b *testing.B) {
	f := newFixture(b)
	a := New(f.store, Config{}, nil)
	secret, tk := f.fineGrained(b, 50)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		a.Forget(tk.ID, 0)
		if _, err := a.Token(ctx, secret, "127.0.0.1"); err != nil {
			b.Fatal(err)
		}
	}
}
