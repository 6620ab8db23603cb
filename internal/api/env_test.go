package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sqldb"
	"github.com/gatehouse/gatehouse/internal/token"
)

// testBase is the external URL of every test handler.
const testBase = "https://git.example.com"

// env is a handler on a real SQLite store in a temporary directory, with
// three users: alice (owner of most things), bob (another user) and root
// (a site administrator).
type env struct {
	h                *Handler
	store            *sqldb.DB
	svc              *service.Service
	repos            *gitrepo.Dir
	alice, bob, root *gatehouse.User
	logs             *syncBuffer
	log              *slog.Logger
	now              time.Time
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type envOptions struct {
	rate RateLimit
	// privateMode makes anonymous callers sign in for everything.
	privateMode bool
}

// discardMailer accepts every message and sends none: no test here reads
// the service's e-mails.
type discardMailer struct{}

func (discardMailer) Send(context.Context, gatehouse.Message) error { return nil }

// system is the actor the fixtures act as: the operator's command line.
var system = gatehouse.SystemActor()

func newEnv(tb testing.TB, opts ...envOptions) *env {
	tb.Helper()
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx := context.Background()
	dir := tb.TempDir()
	st, err := sqldb.Open(ctx, filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	logs := &syncBuffer{}
	e := &env{
		store: st,
		repos: &gitrepo.Dir{Root: filepath.Join(dir, "repositories")},
		logs:  logs,
		log:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		now:   time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
	}
	e.build(o)
	svc := e.svc
	for _, nu := range []service.NewUser{
		{Login: "alice", Email: "alice@example.com", Name: "Alice Liddell"},
		{Login: "bob", Email: "bob@example.com"},
		{Login: "root", Email: "root@example.com", SiteAdmin: true},
	} {
		u, err := svc.CreateUser(ctx, system, nu)
		if err != nil {
			tb.Fatal(err)
		}
		switch u.Login {
		case "alice":
			e.alice = u
		case "bob":
			e.bob = u
		case "root":
			e.root = u
		}
	}
	return e
}

// build (re)makes the service and the handler over e's store and
// repositories, as a restart of the server with options o would.
func (e *env) build(o envOptions) {
	e.svc = service.MustNew(service.Config{
		Store: e.store, Audit: e.store, Keys: e.store, Sessions: e.store, Reminders: e.store, Orgs: e.store,
		Repos: e.repos, Mailer: discardMailer{},
		ExternalURL: testBase, PrivateMode: o.privateMode, Log: e.log,
	})
	e.h = New(Config{
		Service: e.svc, Repos: e.repos,
		ExternalURL: testBase, RateLimit: o.rate, Version: "1.2.3-test", Log: e.log,
		Now: func() time.Time { return e.now },
	})
}

// token issues a token for u with the given scopes (expires "never" unless
// the note ends in "-expiring") and returns its secret. site_admin is
// dropped for users who are not site administrators: the service refuses
// it on their tokens (storeToken makes such a token, to prove the
// pipeline refuses it too).
func (e *env) token(tb testing.TB, u *gatehouse.User, note string, scopes ...string) string {
	tb.Helper()
	exp := "never"
	if strings.HasSuffix(note, "-expiring") {
		exp = "2030-01-02"
	}
	if !u.SiteAdmin {
		scopes = slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == "site_admin" })
	}
	it, err := e.svc.CreateToken(context.Background(), system, service.NewToken{UserID: u.ID, Note: note, Scopes: scopes, Expires: exp})
	if err != nil {
		tb.Fatal(err)
	}
	return it.Secret
}

// storeToken inserts a token for u straight into the store, bypassing
// the service's checks on scopes, and returns its secret.
func (e *env) storeToken(tb testing.TB, u *gatehouse.User, note string, scopes ...string) string {
	tb.Helper()
	secret, err := token.Generate(token.DefaultPrefix)
	if err != nil {
		tb.Fatal(err)
	}
	if err := e.store.CreateToken(context.Background(), &gatehouse.Token{UserID: u.ID, Note: note, Scopes: scopes,
		Hash: token.Hash(secret), LastEight: token.LastEight(secret)}); err != nil {
		tb.Fatal(err)
	}
	return secret
}

// repo creates a repository owned by u.
func (e *env) repo(tb testing.TB, u *gatehouse.User, name string, private bool) *gatehouse.Repo {
	tb.Helper()
	r, err := e.svc.CreateRepo(context.Background(), system, service.NewRepo{Owner: u.Login, Name: name, Private: private, Description: "the " + name + " repository"})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// org creates an organization owned by owner, with members.
func (e *env) org(tb testing.TB, login string, owner *gatehouse.User, members ...*gatehouse.User) *gatehouse.User {
	tb.Helper()
	ctx := context.Background()
	o, err := e.svc.CreateOrg(ctx, system, service.NewOrg{Login: login, Name: strings.ToUpper(login[:1]) + login[1:] + " Inc.", Owner: owner.Login})
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range members {
		if _, err := e.svc.SetMembership(ctx, system, o, m.Login, gatehouse.OrgMember); err != nil {
			tb.Fatal(err)
		}
	}
	return o
}

// team creates a team of the organization org with members.
func (e *env) team(tb testing.TB, org, name, privacy string, members ...*gatehouse.User) *gatehouse.Team {
	tb.Helper()
	ctx := context.Background()
	o, err := e.svc.FindOrg(ctx, system, org)
	if err != nil {
		tb.Fatal(err)
	}
	t, err := e.svc.CreateTeam(ctx, system, o, service.TeamChange{Name: &name, Privacy: &privacy})
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range members {
		if _, err := e.svc.SetTeamMembership(ctx, system, o, t.Slug, m.Login, gatehouse.TeamMember); err != nil {
			tb.Fatal(err)
		}
	}
	return t
}

// credForm is one way of presenting a token.
type credForm struct {
	name   string
	header func(tok string) string
}

var credForms = []credForm{
	{"token", func(t string) string { return "token " + t }},
	{"Bearer", func(t string) string { return "Bearer " + t }},
	{"bearer", func(t string) string { return "bearer " + t }},
	{"basic-password", func(t string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+t))
	}},
	{"basic-username", func(t string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(t+":x-oauth-basic"))
	}},
}

// do sends a request through the handler as a loopback client (so that
// credentials are accepted without TLS) inside the logging middleware, as
// the server mounts it.
func (e *env) do(tb testing.TB, method, path, authorization string, body any) *httptest.ResponseRecorder {
	tb.Helper()
	return e.doWith(tb, method, path, authorization, nil, body)
}

// doWith is do with extra request headers.
func (e *env) doWith(tb testing.TB, method, path, authorization string, hdr http.Header, body any) *httptest.ResponseRecorder {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				tb.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr = "127.0.0.1:40000"
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	httpx.Logging(log, e.h).ServeHTTP(w, req)
	return w
}

// decodeBody decodes a JSON response.
func decodeBody[T any](tb testing.TB, w *httptest.ResponseRecorder) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		tb.Fatalf("decoding %q: %v", w.Body.String(), err)
	}
	return v
}

// errBody is GitHub's error body as clients read it.
type errBody struct {
	Message          string           `json:"message"`
	DocumentationURL string           `json:"documentation_url"`
	Status           string           `json:"status"`
	Errors           []map[string]any `json:"errors"`
}

func expectError(tb testing.TB, w *httptest.ResponseRecorder, status int, message string) {
	tb.Helper()
	if w.Code != status {
		tb.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	b := decodeBody[errBody](tb, w)
	if message != "" && b.Message != message {
		tb.Fatalf("message %q, want %q", b.Message, message)
	}
	if b.DocumentationURL != docURL || b.Status != http.StatusText(0)+itoa(status) {
		tb.Fatalf("error body %s: want documentation_url %q and status %q", w.Body, docURL, itoa(status))
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		tb.Fatalf("Content-Type %q", ct)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
