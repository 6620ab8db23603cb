package githttp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/githttp"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sqldb"
)

// discardMailer accepts every message and sends none.
type discardMailer struct{}

func (discardMailer) Send(context.Context, gatehouse.Message) error { return nil }

// system is the actor the fixtures act as: the operator's command line.
var system = gatehouse.SystemActor()

type env struct {
	h     *githttp.Handler
	token string
	logs  *bytes.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("SKIPPING: git is not installed")
	}
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqldb.Open(ctx, filepath.Join(dir, "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	repos := &gitrepo.Dir{Root: filepath.Join(dir, "repos")}
	svc := service.MustNew(service.Config{
		Store: st, Audit: st, Keys: st, Sessions: st, Reminders: st, Orgs: st, Repos: repos, Mailer: discardMailer{}, Log: log,
	})
	u, err := svc.CreateUser(ctx, system, service.NewUser{Login: "alice", Email: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateRepo(ctx, system, service.NewRepo{Owner: "alice", Name: "secret", Private: true}); err != nil {
		t.Fatal(err)
	}
	it, err := svc.CreateToken(ctx, system, service.NewToken{UserID: u.ID, Note: "t", Scopes: []string{"repo"}})
	if err != nil {
		t.Fatal(err)
	}
	h := &githttp.Handler{Service: svc, Repos: repos, Log: log}
	return &env{h: h, token: it.Secret, logs: logs}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func (e *env) do(r *http.Request) *httptest.ResponseRecorder {
	if r.RemoteAddr == "192.0.2.1:1234" { // httptest's default: pretend loopback
		r.RemoteAddr = "127.0.0.1:4000"
	}
	w := httptest.NewRecorder()
	httpx.Logging(slog.New(slog.NewTextHandler(e.logs, nil)), e.h).ServeHTTP(w, r)
	return w
}

func TestInfoRefsV0(t *testing.T) {
	e := newEnv(t)
	r := httptest.NewRequest("GET", "/alice/secret.git/info/refs?service=git-upload-pack", nil)
	r.Header.Set("Authorization", basic("alice", e.token))
	w := e.do(r)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/x-git-upload-pack-advertisement" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "no-cache") {
		t.Errorf("Cache-Control %q", cc)
	}
	if !strings.HasPrefix(w.Body.String(), "001e# service=git-upload-pack\n0000") {
		t.Errorf("body does not start with the smart HTTP preamble: %q", w.Body.String()[:40])
	}
}

func TestInfoRefsV2(t *testing.T) {
	e := newEnv(t)
	r := httptest.NewRequest("GET", "/alice/secret/info/refs?service=git-upload-pack", nil)
	r.Header.Set("Authorization", "token "+e.token) // any credential form works
	r.Header.Set("Git-Protocol", "version=2")
	w := e.do(r)
	if w.Code != 200 || !strings.HasPrefix(w.Body.String(), "000eversion 2\n") {
		t.Fatalf("status %d, body %q", w.Code, w.Body.String())
	}
}

func TestReceivePackAdvertisement(t *testing.T) {
	e := newEnv(t)
	r := httptest.NewRequest("GET", "/alice/secret.git/info/refs?service=git-receive-pack", nil)
	r.Header.Set("Authorization", basic(e.token, "x-oauth-basic"))
	w := e.do(r)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/x-git-receive-pack-advertisement" ||
		!strings.HasPrefix(w.Body.String(), "001f# service=git-receive-pack\n0000") {
		t.Fatalf("status %d, type %q, body %q", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
}

// A gzip-compressed upload-pack request (git compresses large negotiations)
// is decompressed before git sees it.
func TestGzipRequestBody(t *testing.T) {
	e := newEnv(t)
	// A v2 ls-refs command: capability list, delimiter, flush.
	body := "0014command=ls-refs\n0001" + "0000"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, body)
	zw.Close()
	r := httptest.NewRequest("POST", "/alice/secret.git/git-upload-pack", &gz)
	r.Header.Set("Authorization", basic("alice", e.token))
	r.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	r.Header.Set("Content-Encoding", "gzip")
	r.Header.Set("Git-Protocol", "version=2")
	w := e.do(r)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/x-git-upload-pack-result" || w.Body.String() != "0000" {
		t.Fatalf("status %d, type %q, body %q (an empty repository lists no refs)", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}

	r = httptest.NewRequest("POST", "/alice/secret.git/git-upload-pack", strings.NewReader("not gzip"))
	r.Header.Set("Authorization", basic("alice", e.token))
	r.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	r.Header.Set("Content-Encoding", "gzip")
	if w := e.do(r); w.Code != 400 {
		t.Fatalf("corrupt gzip: status %d", w.Code)
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path, auth, ctype string
		remote                          string
		want                            int
		challenge                       bool
		body                            string
	}{
		{"anonymous private", "GET", "/alice/secret.git/info/refs?service=git-upload-pack", "", "", "", 401, true, "Authentication required"},
		{"anonymous missing", "GET", "/alice/nope.git/info/refs?service=git-upload-pack", "", "", "", 401, true, "Authentication required"},
		{"password", "GET", "/alice/secret.git/info/refs?service=git-upload-pack", basic("alice", "correct horse"), "", "", 401, true, "Password authentication is not supported"},
		{"bad token", "GET", "/alice/secret.git/info/refs?service=git-upload-pack", "token gtp_000000000000000000000000000000000000", "", "", 401, true, "Invalid username or token"},
		{"malformed header", "GET", "/alice/secret.git/info/refs?service=git-upload-pack", "Basic !!!", "", "", 401, true, "malformed"},
		{"missing with token", "GET", "/alice/nope.git/info/refs?service=git-upload-pack", "TOKEN", "", "", 404, false, "Repository not found."},
		{"dumb protocol", "GET", "/alice/secret.git/info/refs", "", "", "", 403, false, "smart HTTP"},
		{"wrong method", "GET", "/alice/secret.git/git-upload-pack", "", "", "", 405, false, ""},
		{"wrong content type", "POST", "/alice/secret.git/git-upload-pack", "", "text/plain", "", 415, false, ""},
		{"plain HTTP from afar", "GET", "/alice/secret.git/info/refs?service=git-upload-pack", "TOKEN", "", "192.0.2.10:5555", 403, false, "plain HTTP"},
		{"plain HTTP from afar, no credentials", "GET", "/alice/secret.git/info/refs?service=git-upload-pack", "", "", "192.0.2.10:5555", 401, true, ""},
		{"bad path", "GET", "/alice/../etc/info/refs?service=git-upload-pack", "", "", "", 404, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			r.RemoteAddr = "127.0.0.1:4000"
			if tt.remote != "" {
				r.RemoteAddr = tt.remote
			}
			switch tt.auth {
			case "":
			case "TOKEN":
				r.Header.Set("Authorization", basic("alice", e.token))
			default:
				r.Header.Set("Authorization", tt.auth)
			}
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			w := e.do(r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); (got == `Basic realm="Gatehouse"`) != tt.challenge {
				t.Errorf("WWW-Authenticate %q, challenge wanted: %v", got, tt.challenge)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q, want text/plain so git shows it", ct)
			}
			if !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("body %q lacks %q", w.Body, tt.body)
			}
		})
	}
	if strings.Contains(e.logs.String(), e.token) || strings.Contains(e.logs.String(), "correct horse") {
		t.Fatal("a secret reached the log")
	}
}

func TestMatch(t *testing.T) {
	for path, want := range map[string]*githttp.Route{
		"/a/b/info/refs":              {Owner: "a", Name: "b", Op: "info/refs"},
		"/a/b.git/info/refs":          {Owner: "a", Name: "b", Op: "info/refs"},
		"/a/b.GIT/git-upload-pack":    {Owner: "a", Name: "b", Op: "git-upload-pack"},
		"/a/b.git/git-receive-pack":   {Owner: "a", Name: "b", Op: "git-receive-pack"},
		"/a/b.git.git/info/refs":      nil,
		"/a/b/c/info/refs":            nil,
		"/a/b.git/objects/info/packs": nil,
		"/-a/b/info/refs":             nil,
		"/a/../info/refs":             nil,
		"/a/.git/info/refs":           nil,
	} {
		got, ok := githttp.Match(path)
		if want == nil {
			if ok {
				t.Errorf("%s matched %+v", path, got)
			}
			continue
		}
		if !ok || got != *want {
			t.Errorf("%s = %+v, %v; want %+v", path, got, ok, *want)
		}
	}
	_ = gatehouse.PermRead
}
