package pushprotect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sqldb"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Guard talks to the real application boundary.
var _ Service = (*service.Service)(nil)

// mailbox is a gatehouse.Mailer that keeps what it is given.
type mailbox struct {
	mu   sync.Mutex
	msgs []gatehouse.Message
	fail error // returned by Send when set
}

func (m *mailbox) Send(_ context.Context, msg gatehouse.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.msgs = append(m.msgs, msg)
	return nil
}

func (m *mailbox) sent() []gatehouse.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.msgs)
}

// instance is a real service over SQLite with a fake mailer, and the
// owner (alice) and pusher (bob) of the pushes tests check.
type instance struct {
	svc        *service.Service
	db         *sqldb.DB
	mail       *mailbox
	alice, bob *gatehouse.User
}

func newInstance(t *testing.T) *instance {
	t.Helper()
	dir := t.TempDir()
	db, err := sqldb.Open(context.Background(), filepath.Join(dir, "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	in := &instance{db: db, mail: &mailbox{}}
	in.svc, err = service.New(service.Config{Store: db, Audit: db, Keys: db, Sessions: db, Reminders: db, Orgs: db,
		Repos: &gitrepo.Dir{Root: filepath.Join(dir, "repos")}, Mailer: in.mail, ExternalURL: "https://git.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	system := gatehouse.SystemActor()
	if in.alice, err = in.svc.CreateUser(context.Background(), system, service.NewUser{Login: "alice", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	if in.bob, err = in.svc.CreateUser(context.Background(), system, service.NewUser{Login: "bob", Email: "bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	return in
}

// add stores a token of alice's with the given secret (expires zero:
// never), through the store so that it may have expired already.
func (in *instance) add(t *testing.T, note, secret string, expires time.Time) *gatehouse.Token {
	t.Helper()
	tok := &gatehouse.Token{UserID: in.alice.ID, Note: note, Scopes: []string{"repo"}, Hash: token.Hash(secret), LastEight: token.LastEight(secret), ExpiresAt: expires}
	if err := in.db.CreateToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

// exists reports whether token id is still stored.
func (in *instance) exists(t *testing.T, id int64) bool {
	t.Helper()
	_, err := in.db.FindTokenByID(context.Background(), id)
	if err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func (in *instance) events(t *testing.T) []*gatehouse.AuditEvent {
	t.Helper()
	evs, err := in.db.ListAuditEvents(context.Background(), gatehouse.AuditFilter{}, gatehouse.Page{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func runHook(t *testing.T, r *repo, in *instance, tip string) (out string, opened bool, err error) {
	t.Helper()
	h := &Hook{
		Push: Push{Repo: "alice/demo", PusherID: in.bob.ID, Pusher: "bob", IP: "192.0.2.1", RequestID: "req1"},
		Guard: func(context.Context) (*Guard, error) {
			opened = true
			return &Guard{Service: in.svc}, nil
		},
	}
	var b bytes.Buffer
	stdin := strings.Repeat("0", 40) + " " + tip + " refs/heads/main\n"
	err = h.Run(context.Background(), r.dir, r.env(), strings.NewReader(stdin), &b)
	return b.String(), opened, err
}

func TestHookRejectsLiveToken(t *testing.T) {
	r := newRepo(t)
	live, dead, expired := newToken(t), newToken(t), newToken(t)
	in := newInstance(t)
	liveTok := in.add(t, "laptop", live, time.Time{})
	staleTok := in.add(t, "stale", expired, time.Now().Add(-time.Hour))
	ids := r.build("", false, commit{"add env", map[string][]byte{
		"app/.env":  []byte("X=1\nTOKEN=" + live + "\n"),
		"dead.txt":  []byte(dead),
		"stale.txt": []byte(expired),
	}})
	out, _, err := runHook(t, r, in, ids[0])
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("Run = %v, want ErrRejected\n%s", err, out)
	}
	for _, want := range []string{ids[0], "app/.env (line 2)", "…" + token.LastEight(live), `"laptop" of alice`, "revoked", "told by e-mail", "git rebase -i " + ids[0][:12] + "~1"} {
		if !strings.Contains(out, want) {
			t.Errorf("message lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{live, live[4 : len(live)-8], dead, expired} {
		if strings.Contains(out, secret) {
			t.Errorf("message contains a secret:\n%s", out)
		}
	}
	if in.exists(t, liveTok.ID) || !in.exists(t, staleTok.ID) {
		t.Errorf("live token kept: %v, expired token kept: %v; want only the live token revoked", in.exists(t, liveTok.ID), in.exists(t, staleTok.ID))
	}
	mails := in.mail.sent()
	if len(mails) != 1 || mails[0].To != "alice@example.com" || !strings.Contains(mails[0].Body, "alice/demo by bob") ||
		!strings.Contains(mails[0].Body, "https://git.example.com/settings/tokens") || strings.Contains(mails[0].Body, live) {
		t.Errorf("mails: %+v", mails)
	}
	events := in.events(t)
	if len(events) != 1 {
		t.Fatalf("audit events: %+v", events)
	}
	if e := events[0]; e.Action != gatehouse.AuditTokenLeaked || e.TokenID != liveTok.ID || e.UserID != in.alice.ID || e.ActorID != in.bob.ID || e.IP != "192.0.2.1" ||
		!strings.Contains(e.Detail, "alice/demo") || !strings.Contains(e.Detail, "app/.env") || strings.Contains(e.Detail, live) {
		t.Errorf("audit event: %+v", e)
	}
}

// A token is revoked even when its owner cannot be told: the pusher is
// warned that the mail failed, and the rejection does not claim it went.
func TestHookWarnsWhenMailFails(t *testing.T) {
	r := newRepo(t)
	live := newToken(t)
	in := newInstance(t)
	in.mail.fail = gatehouse.E("send e-mail", gatehouse.Unavailable, "connection refused")
	tok := in.add(t, "laptop", live, time.Time{})
	ids := r.build("", false, commit{"add env", map[string][]byte{"app/.env": []byte("TOKEN=" + live + "\n")}})
	out, _, err := runHook(t, r, in, ids[0])
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("Run = %v, want ErrRejected\n%s", err, out)
	}
	if !strings.Contains(out, "warning: e-mailing alice about the revocation failed.") || strings.Contains(out, "told by e-mail") ||
		!strings.Contains(out, "has been revoked") || strings.Contains(out, live) {
		t.Errorf("message:\n%s", out)
	}
	if in.exists(t, tok.ID) {
		t.Error("the token survived a mail failure")
	}
	if events := in.events(t); len(events) != 1 || events[0].Action != gatehouse.AuditTokenLeaked || events[0].ActorID != in.bob.ID {
		t.Errorf("audit events: %+v", events)
	}
}

func TestHookAcceptsDeadAndForeignTokens(t *testing.T) {
	r := newRepo(t)
	dead, expired := newToken(t), newToken(t)
	foreign, _ := token.Generate("ghp_")
	in := newInstance(t)
	staleTok := in.add(t, "stale", expired, time.Now().Add(-time.Minute))
	ids := r.build("", false, commit{"notes", map[string][]byte{"notes.md": []byte(dead + "\n" + expired + "\n" + foreign + "\n")}})
	out, opened, err := runHook(t, r, in, ids[0])
	if err != nil || out != "" || !opened || !in.exists(t, staleTok.ID) || len(in.events(t)) != 0 || len(in.mail.sent()) != 0 {
		t.Fatalf("Run = %v, opened %v, expired token kept %v, events %v, mails %v\n%s", err, opened, in.exists(t, staleTok.ID), in.events(t), in.mail.sent(), out)
	}
}

// A push without a token-shaped string never opens the database.
func TestHookCleanPushSkipsStore(t *testing.T) {
	r := newRepo(t)
	ids := r.build("", false, commit{"code", map[string][]byte{"main.go": []byte("package main\n\nvar user_name_here_for_test = 1\n")}})
	out, opened, err := runHook(t, r, newInstance(t), ids[0])
	if err != nil || opened || out != "" {
		t.Fatalf("Run = %v, opened %v\n%s", err, opened, out)
	}
}

// A push that cannot be checked is refused: an error must not let a
// secret through.
func TestHookFailsClosed(t *testing.T) {
	r := newRepo(t)
	out, _, err := runHook(t, r, newInstance(t), strings.Repeat("1", 40))
	if !errors.Is(err, ErrRejected) || !strings.Contains(out, "could not check this push (request req1)") {
		t.Fatalf("Run = %v\n%s", err, out)
	}
}

// A push too large to check whole is refused: letting the unchecked rest
// through would be a way around the check.
func TestHookRefusesIncompleteScan(t *testing.T) {
	r := newRepo(t)
	live := newToken(t)
	files := map[string][]byte{}
	for i := range 20 {
		files[fmt.Sprintf("junk%02d", i)] = bytes.Repeat([]byte{'a' + byte(i)}, 10<<10)
	}
	ids := r.build("", false, commit{"junk", files}, commit{"secret", map[string][]byte{"z.env": []byte(live)}})
	in := newInstance(t)
	tok := in.add(t, "laptop", live, time.Time{})
	h := &Hook{Scanner: Scanner{MaxBytes: 50 << 10}, Guard: func(context.Context) (*Guard, error) {
		return &Guard{Service: in.svc}, nil
	}}
	var out bytes.Buffer
	stdin := strings.Repeat("0", 40) + " " + ids[1] + " refs/heads/main\n"
	err := h.Run(context.Background(), r.dir, r.env(), strings.NewReader(stdin), &out)
	if !errors.Is(err, ErrRejected) || !strings.Contains(out.String(), "too large for push protection") {
		t.Fatalf("Run = %v\n%s", err, out.String())
	}
	if !in.exists(t, tok.ID) {
		t.Error("a push that was not checked revoked a token")
	}
}
