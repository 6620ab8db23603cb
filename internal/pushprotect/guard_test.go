package pushprotect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/token"
)

// fakeStore knows tokens by hash; other Store methods are not called.
type fakeStore struct {
	gatehouse.Store
	tokens  map[string]*gatehouse.Token
	deleted []int64
	mails   []gatehouse.Message
	events  []*gatehouse.AuditEvent
}

func (s *fakeStore) FindTokenByHash(_ context.Context, h string) (*gatehouse.Token, error) {
	if t, ok := s.tokens[h]; ok {
		return t, nil
	}
	return nil, gatehouse.E("find token", gatehouse.NotFound, "no such token")
}

func (s *fakeStore) FindUserByID(_ context.Context, id int64) (*gatehouse.User, error) {
	return &gatehouse.User{ID: id, Login: "alice", Email: "alice@example.com"}, nil
}

func (s *fakeStore) DeleteToken(_ context.Context, id int64) error {
	s.deleted = append(s.deleted, id)
	return nil
}

func (s *fakeStore) Send(_ context.Context, m gatehouse.Message) error {
	s.mails = append(s.mails, m)
	return nil
}

func (s *fakeStore) RecordAuditEvent(_ context.Context, e *gatehouse.AuditEvent) error {
	s.events = append(s.events, e)
	return nil
}

func (s *fakeStore) ListAuditEvents(context.Context, gatehouse.AuditFilter, gatehouse.Page) ([]*gatehouse.AuditEvent, error) {
	return s.events, nil
}

func (s *fakeStore) add(id int64, secret string, expires time.Time) {
	s.tokens[token.Hash(secret)] = &gatehouse.Token{ID: id, UserID: 7, Note: "laptop", Hash: token.Hash(secret), LastEight: token.LastEight(secret), ExpiresAt: expires}
}

func runHook(t *testing.T, r *repo, st *fakeStore, tip string) (out string, opened bool, err error) {
	t.Helper()
	h := &Hook{
		Push: Push{Repo: "alice/demo", PusherID: 9, Pusher: "bob", IP: "192.0.2.1", RequestID: "req1"},
		Guard: func(context.Context) (*Guard, error) {
			opened = true
			return &Guard{Store: st, Revoker: st, Mailer: st, Audit: st, ExternalURL: "https://git.example.com"}, nil
		},
	}
	var b bytes.Buffer
	in := strings.Repeat("0", 40) + " " + tip + " refs/heads/main\n"
	err = h.Run(context.Background(), r.dir, r.env(), strings.NewReader(in), &b)
	return b.String(), opened, err
}

func TestHookRejectsLiveToken(t *testing.T) {
	r := newRepo(t)
	live, dead, expired := newToken(t), newToken(t), newToken(t)
	st := &fakeStore{tokens: map[string]*gatehouse.Token{}}
	st.add(41, live, time.Time{})
	st.add(42, expired, time.Now().Add(-time.Hour))
	ids := r.build("", false, commit{"add env", map[string][]byte{
		"app/.env":  []byte("X=1\nTOKEN=" + live + "\n"),
		"dead.txt":  []byte(dead),
		"stale.txt": []byte(expired),
	}})
	out, _, err := runHook(t, r, st, ids[0])
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
	if len(st.deleted) != 1 || st.deleted[0] != 41 {
		t.Errorf("revoked %v, want [41] (only the live token)", st.deleted)
	}
	if len(st.mails) != 1 || st.mails[0].To != "alice@example.com" || !strings.Contains(st.mails[0].Body, "alice/demo by bob") ||
		!strings.Contains(st.mails[0].Body, "https://git.example.com/settings/tokens") || strings.Contains(st.mails[0].Body, live) {
		t.Errorf("mails: %+v", st.mails)
	}
	if len(st.events) != 1 {
		t.Fatalf("audit events: %+v", st.events)
	}
	if e := st.events[0]; e.Action != gatehouse.AuditTokenLeaked || e.TokenID != 41 || e.UserID != 7 || e.ActorID != 9 || e.IP != "192.0.2.1" ||
		!strings.Contains(e.Detail, "alice/demo") || !strings.Contains(e.Detail, "app/.env") || strings.Contains(e.Detail, live) {
		t.Errorf("audit event: %+v", e)
	}
}

func TestHookAcceptsDeadAndForeignTokens(t *testing.T) {
	r := newRepo(t)
	dead, expired := newToken(t), newToken(t)
	foreign, _ := token.Generate("ghp_")
	st := &fakeStore{tokens: map[string]*gatehouse.Token{}}
	st.add(42, expired, time.Now().Add(-time.Minute))
	ids := r.build("", false, commit{"notes", map[string][]byte{"notes.md": []byte(dead + "\n" + expired + "\n" + foreign + "\n")}})
	out, opened, err := runHook(t, r, st, ids[0])
	if err != nil || out != "" || !opened || len(st.deleted) != 0 {
		t.Fatalf("Run = %v, opened %v, deleted %v\n%s", err, opened, st.deleted, out)
	}
}

// A push without a token-shaped string never opens the database.
func TestHookCleanPushSkipsStore(t *testing.T) {
	r := newRepo(t)
	ids := r.build("", false, commit{"code", map[string][]byte{"main.go": []byte("package main\n\nvar user_name_here_for_test = 1\n")}})
	out, opened, err := runHook(t, r, &fakeStore{}, ids[0])
	if err != nil || opened || out != "" {
		t.Fatalf("Run = %v, opened %v\n%s", err, opened, out)
	}
}

// A push that cannot be checked is refused: an error must not let a
// secret through.
func TestHookFailsClosed(t *testing.T) {
	r := newRepo(t)
	out, _, err := runHook(t, r, &fakeStore{}, strings.Repeat("1", 40))
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
	st := &fakeStore{tokens: map[string]*gatehouse.Token{}}
	st.add(1, live, time.Time{})
	h := &Hook{Scanner: Scanner{MaxBytes: 50 << 10}, Guard: func(context.Context) (*Guard, error) {
		return &Guard{Store: st, Revoker: st}, nil
	}}
	var out bytes.Buffer
	in := strings.Repeat("0", 40) + " " + ids[1] + " refs/heads/main\n"
	err := h.Run(context.Background(), r.dir, r.env(), strings.NewReader(in), &out)
	if !errors.Is(err, ErrRejected) || !strings.Contains(out.String(), "too large for push protection") {
		t.Fatalf("Run = %v\n%s", err, out.String())
	}
}
