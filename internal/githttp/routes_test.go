package githttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/sqldb"
)

// nopMailer accepts every message and sends none.
type nopMailer struct{}

func (nopMailer) Send(context.Context, gatehouse.Message) error { return nil }

// walkActor is one kind of caller of the route walk: who it is as the rule
// sees it, and how it presents itself to git's transport.
type walkActor struct {
	name   string
	actor  *gatehouse.Actor // as authz sees it
	secret string           // "" for anonymous
	// grant is the actor's explicit collaborator grant on every repository
	// of the walk.
	grant gatehouse.Permission
}

// tokenForms are the ways a token reaches git's transport: git's own
// (Basic with the token as password), the token as Basic username, and
// the token and Bearer schemes, which must not skip any check.
var tokenForms = []struct {
	name   string
	header func(login, secret string) string
}{
	{"basic-password", func(login, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(login+":"+secret))
	}},
	{"basic-username", func(_, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(secret+":x-oauth-basic"))
	}},
	{"token", func(_, secret string) string { return "token " + secret }},
	{"Bearer", func(_, secret string) string { return "Bearer " + secret }},
}

// expectedStatus is what the transport must answer when the rule says err.
func expectedStatus(err error) int {
	if err == nil {
		return http.StatusOK
	}
	switch gatehouse.ErrorKind(err) {
	case gatehouse.Unauthenticated:
		return http.StatusUnauthorized
	case gatehouse.NotFound:
		return http.StatusNotFound
	case gatehouse.Forbidden:
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// routeRequest builds the request git makes for rt on owner/name: the ref
// advertisement, or an RPC with a body git answers at once (a v2 ls-refs
// for upload-pack; no commands for receive-pack).
func routeRequest(rt route, owner, name, authorization string) *http.Request {
	path := "/" + owner + "/" + name + ".git/" + rt.op
	var body *strings.Reader
	switch {
	case rt.op == "info/refs":
		path += "?service=git-" + string(rt.service)
	case rt.service == gitrepo.UploadPack:
		body = strings.NewReader("0014command=ls-refs\n0001" + "0000")
	default:
		body = strings.NewReader("0000")
	}
	var r *http.Request
	if body != nil {
		r = httptest.NewRequest(rt.method, path, body)
		r.Header.Set("Content-Type", "application/x-git-"+string(rt.service)+"-request")
	} else {
		r = httptest.NewRequest(rt.method, path, nil)
	}
	if rt.service == gitrepo.UploadPack {
		r.Header.Set("Git-Protocol", "version=2")
	}
	r.RemoteAddr = "127.0.0.1:4000" // loopback: credentials need no TLS
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	return r
}

// TestRoutesAskAuthz walks git's route table: for every route, every kind
// of caller (in every credential form) and a public and a private
// repository, the transport answers exactly what the one rule,
// authz.Repo, decides for the route's action — so no route can skip it or
// be wired to the wrong action. A few verdicts are also spelled out, so
// that the walk cannot pass by agreeing with a rule that allows nothing
// or everything.
func TestRoutesAskAuthz(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("SKIPPING: git is not installed")
	}
	// The walk takes each route's action from the table, so the table
	// itself is pinned: what git sends, and that anything reaching
	// receive-pack needs write access.
	wantTable := map[string]authz.Action{
		"GET info/refs upload-pack":          authz.Read,
		"GET info/refs receive-pack":         authz.Write,
		"POST git-upload-pack upload-pack":   authz.Read,
		"POST git-receive-pack receive-pack": authz.Write,
	}
	if len(routes) != len(wantTable) {
		t.Errorf("the route table has %d entries, want %d", len(routes), len(wantTable))
	}
	for _, rt := range routes {
		key := rt.method + " " + rt.op + " " + string(rt.service)
		if want, ok := wantTable[key]; !ok || rt.action != want {
			t.Errorf("route %s needs %v, want %v (known: %v)", key, rt.action, want, ok)
		}
	}
	ctx := context.Background()
	sys := gatehouse.SystemActor()
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
		Store: st, Audit: st, Keys: st, Sessions: st, Reminders: st, Orgs: st, Repos: repos, Mailer: nopMailer{}, Log: log,
	})
	users := map[string]*gatehouse.User{}
	for _, login := range []string{"alice", "nobody", "reader", "writer"} {
		u, err := svc.CreateUser(ctx, sys, service.NewUser{Login: login, Email: login + "@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		users[login] = u
	}
	walkRepos := map[string]*gatehouse.Repo{}
	for _, private := range []bool{false, true} {
		name := "pub"
		if private {
			name = "priv"
		}
		r, err := svc.CreateRepo(ctx, sys, service.NewRepo{Owner: "alice", Name: name, Private: private})
		if err != nil {
			t.Fatal(err)
		}
		walkRepos[name] = r
		for login, p := range map[string]gatehouse.Permission{"reader": gatehouse.PermRead, "writer": gatehouse.PermWrite} {
			if _, err := svc.SetCollaborator(ctx, sys, r, login, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	tokenActor := func(login, note string, scopes ...string) walkActor {
		t.Helper()
		it, err := svc.CreateToken(ctx, sys, service.NewToken{UserID: users[login].ID, Note: note, Scopes: scopes, Expires: "never"})
		if err != nil {
			t.Fatal(err)
		}
		return walkActor{actor: &gatehouse.Actor{User: users[login], Token: it.Token, IP: "127.0.0.1"}, secret: it.Secret}
	}
	named := func(name string, a walkActor, grant gatehouse.Permission) walkActor {
		a.name, a.grant = name, grant
		return a
	}
	actors := []walkActor{
		{name: "anonymous", actor: gatehouse.AnonymousActor("127.0.0.1")},
		// The owner's own token without scopes: only the scopes stand
		// between it and everything.
		named("owner token without scopes", tokenActor("alice", "none"), gatehouse.PermNone),
		named("repo token of a user without a role", tokenActor("nobody", "repo", "repo"), gatehouse.PermNone),
		named("read collaborator with repo token", tokenActor("reader", "repo", "repo"), gatehouse.PermRead),
		named("write collaborator with repo token", tokenActor("writer", "repo", "repo"), gatehouse.PermWrite),
		named("owner with repo token", tokenActor("alice", "repo", "repo"), gatehouse.PermNone),
	}
	// The suspended owner runs last: the suspension is real, in the store.
	suspended := named("suspended owner with repo token", tokenActor("alice", "to-suspend", "repo"), gatehouse.PermNone)

	pushes := 0
	h := &Handler{Service: svc, Repos: repos, Log: log,
		OnPush: func(context.Context, *gatehouse.Repo, *gatehouse.Actor) { pushes++ }}

	// got records the verdict of every (route, repository, actor), the
	// same in every credential form, for the spelled-out checks below.
	got := map[string]int{}
	walk := func(t *testing.T, a walkActor) {
		for _, rt := range routes {
			for _, repoName := range []string{"pub", "priv"} {
				repo := walkRepos[repoName]
				want := expectedStatus(authz.Repo(a.actor, repo, authz.Role(a.actor, repo, gatehouse.Grants{Collaborator: a.grant}), rt.action.Need(), nil, false))
				forms := tokenForms
				if a.secret == "" {
					forms = forms[:1] // anonymous: one request, no header
				}
				for _, form := range forms {
					authorization := ""
					if a.secret != "" {
						authorization = form.header(a.actor.Login(), a.secret)
					}
					name := fmt.Sprintf("%s %s?%s on %s as %s (%s)", rt.method, rt.op, rt.service, repoName, a.name, form.name)
					before := pushes
					w := httptest.NewRecorder()
					h.ServeHTTP(w, routeRequest(rt, "alice", repoName, authorization))
					key := fmt.Sprintf("%s|%s|%s|%s", rt.op, rt.service, repoName, a.name)
					if prev, seen := got[key]; !seen {
						got[key] = w.Code
					} else if prev != w.Code {
						got[key] = -1 // credential forms disagree
					}
					if w.Code != want {
						t.Errorf("%s: status %d, the rule implies %d: %q", name, w.Code, want, w.Body)
						continue
					}
					ct := w.Header().Get("Content-Type")
					if want != http.StatusOK {
						// A refusal is git's text, and no git ran.
						if !strings.HasPrefix(ct, "text/plain") {
							t.Errorf("%s: refusal with Content-Type %q", name, ct)
						}
						if challenged := w.Header().Get("WWW-Authenticate") != ""; challenged != (want == http.StatusUnauthorized) {
							t.Errorf("%s: status %d with WWW-Authenticate %q", name, w.Code, w.Header().Get("WWW-Authenticate"))
						}
						if pushes != before {
							t.Errorf("%s: refused, yet the push hook ran", name)
						}
						continue
					}
					suffix := "-result"
					if rt.op == "info/refs" {
						suffix = "-advertisement"
					}
					if wantCT := "application/x-git-" + string(rt.service) + suffix; ct != wantCT {
						t.Errorf("%s: Content-Type %q, want %q: %q", name, ct, wantCT, w.Body)
					}
					if rt.method == http.MethodPost && rt.service == gitrepo.UploadPack && w.Body.String() != "0000" {
						t.Errorf("%s: ls-refs of an empty repository answered %q, want \"0000\"", name, w.Body)
					}
					// The allowed push sends no commands: git ran (the
					// status and Content-Type say so) and moved no ref, so
					// it is not recorded as a push.
					if rt.method == http.MethodPost && rt.service == gitrepo.ReceivePack && pushes != before {
						t.Errorf("%s: a push that moved no ref was recorded", name)
					}
				}
			}
		}
	}
	for _, a := range actors {
		t.Run(a.name, func(t *testing.T) { walk(t, a) })
	}
	u, err := svc.SetSuspended(ctx, sys, users["alice"].ID, true)
	if err != nil {
		t.Fatal(err)
	}
	suspended.actor.User = u
	t.Run(suspended.name, func(t *testing.T) { walk(t, suspended) })
	actors = append(actors, suspended)

	// Spelled out, so that the walk cannot pass vacuously.
	for key, want := range map[string]int{
		"info/refs|receive-pack|pub|anonymous":                                  401,
		"git-receive-pack|receive-pack|pub|anonymous":                           401,
		"info/refs|upload-pack|pub|anonymous":                                   200,
		"info/refs|upload-pack|priv|anonymous":                                  401,
		"info/refs|upload-pack|priv|owner token without scopes":                 404,
		"git-upload-pack|upload-pack|priv|owner token without scopes":           404,
		"info/refs|upload-pack|pub|owner token without scopes":                  200,
		"git-receive-pack|receive-pack|pub|owner token without scopes":          403,
		"info/refs|upload-pack|priv|repo token of a user without a role":        404,
		"git-receive-pack|receive-pack|pub|repo token of a user without a role": 403,
		"git-upload-pack|upload-pack|priv|read collaborator with repo token":    200,
		"info/refs|receive-pack|priv|read collaborator with repo token":         403,
		"git-receive-pack|receive-pack|priv|read collaborator with repo token":  403,
		"git-receive-pack|receive-pack|priv|write collaborator with repo token": 200,
		"git-receive-pack|receive-pack|priv|owner with repo token":              200,
		"info/refs|upload-pack|pub|suspended owner with repo token":             403,
		"git-receive-pack|receive-pack|priv|suspended owner with repo token":    403,
	} {
		if got[key] != want {
			t.Errorf("%s: status %d, want %d", key, got[key], want)
		}
	}
	if n := len(routes) * len(actors) * 2; len(got) != n {
		t.Errorf("walked %d (route, repository, actor) cases, want %d", len(got), n)
	}
	for _, a := range actors {
		if a.secret != "" && strings.Contains(logs.String(), a.secret) {
			t.Fatalf("the token of %s reached the log", a.name)
		}
	}
}
