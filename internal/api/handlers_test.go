package api

import (
	"context"
	"encoding/base64"
	"fmt"
	"github.com/gatehouse/gatehouse/internal/token"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/service"
)

func TestTokenHeaders(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, e.alice, "x-expiring", "user", "repo", "read:org", "user:email")
	w := e.do(t, "GET", Prefix+"/", "token "+tok, nil)
	if w.Code != 200 {
		t.Fatalf("GET / = %d", w.Code)
	}
	hd := w.Header()
	// user:email is implied by user and dropped when the token is saved.
	if got := hd.Get("X-OAuth-Scopes"); got != "read:org, repo, user" {
		t.Errorf("X-OAuth-Scopes %q", got)
	}
	if got := hd.Get("GitHub-Authentication-Token-Expiration"); !regexp.MustCompile(`^2030-01-0[23] \d\d:\d\d:\d\d UTC$`).MatchString(got) {
		t.Errorf("GitHub-Authentication-Token-Expiration %q", got)
	}
	if hd.Get("X-GitHub-Media-Type") != "github.v3; format=json" || hd.Get("X-GitHub-Enterprise-Version") != EnterpriseVersion {
		t.Errorf("media type / version headers: %v", hd)
	}
	if _, ok := hd["X-Accepted-Oauth-Scopes"]; !ok {
		t.Error("no X-Accepted-OAuth-Scopes")
	}
	// A token that never expires sends no expiration header, and no rate
	// limit headers are sent while rate limiting is off.
	never := e.token(t, e.alice, "never", "repo")
	w = e.do(t, "GET", Prefix, "Bearer "+never, nil)
	if w.Code != 200 || w.Header().Get("GitHub-Authentication-Token-Expiration") != "" || w.Header().Get("X-RateLimit-Limit") != "" {
		t.Errorf("GET /api/v3: %d %v", w.Code, w.Header())
	}
	// Anonymous: no token headers.
	w = e.do(t, "GET", Prefix+"/", "", nil)
	if w.Code != 200 || w.Header().Get("X-OAuth-Scopes") != "" {
		t.Errorf("anonymous GET /: %d %v", w.Code, w.Header())
	}
}

func TestCredentialRefusals(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, e.alice, "t", "repo")
	// An account password is not accepted on the API.
	w := e.do(t, "GET", Prefix+"/user", "Basic "+b64("alice:hunter22"), nil)
	expectError(t, w, http.StatusUnauthorized, msgBadCredentials)
	// Unknown scheme.
	w = e.do(t, "GET", Prefix+"/user", "Digest x", nil)
	expectError(t, w, http.StatusUnauthorized, msgBadCredentials)
	// Credentials over plain HTTP from another machine.
	req := httptest.NewRequest("GET", Prefix+"/user", nil)
	req.RemoteAddr = "192.0.2.7:5555"
	req.Header.Set("Authorization", "token "+tok)
	rw := httptest.NewRecorder()
	e.h.ServeHTTP(rw, req)
	expectError(t, rw, http.StatusForbidden, msgPlainHTTP)
	// A suspended user's token stops working.
	if _, err := e.svc.SetSuspended(context.Background(), system, e.alice.ID, true); err != nil {
		t.Fatal(err)
	}
	w = e.do(t, "GET", Prefix+"/user", "token "+tok, nil)
	expectError(t, w, http.StatusForbidden, "This account is suspended.")
}

func TestTooManyAttempts(t *testing.T) {
	e := newEnv(t)
	good := e.token(t, e.alice, "good", "repo")
	var w *httptest.ResponseRecorder
	// Strings that are not tokens at all cannot be guesses and are not counted.
	for i := 0; i < 150; i++ {
		w = e.do(t, "GET", Prefix+"/user", "token gtp_wrong", nil)
	}
	expectError(t, w, http.StatusUnauthorized, "Bad credentials")
	// Well-formed tokens that do not exist are.
	for i := 0; i < 101; i++ {
		guess, err := token.Generate(token.DefaultPrefix)
		if err != nil {
			t.Fatal(err)
		}
		w = e.do(t, "GET", Prefix+"/user", "token "+guess, nil)
	}
	expectError(t, w, http.StatusForbidden, "Maximum number of login attempts exceeded. Please try again later.")
	// A live token still works from the locked-out address: one client
	// looping on a revoked token must not lock out everyone behind its NAT.
	if w = e.do(t, "GET", Prefix+"/user", "token "+good, nil); w.Code != http.StatusOK {
		t.Fatalf("good token from a locked-out address: %d %s", w.Code, w.Body)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestPagination(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 5; i++ {
		e.repo(t, e.alice, fmt.Sprintf("r%d", i), false)
	}
	tok := e.token(t, e.alice, "t", "repo")
	w := e.do(t, "GET", Prefix+"/user/repos?per_page=2", "token "+tok, nil)
	if got := len(decodeBody[[]map[string]any](t, w)); got != 2 {
		t.Fatalf("page 1 has %d repos", got)
	}
	want := `<` + testBase + `/api/v3/user/repos?page=2&per_page=2>; rel="next"`
	if got := w.Header().Get("Link"); got != want {
		t.Errorf("Link %q, want %q", got, want)
	}
	w = e.do(t, "GET", Prefix+"/user/repos?per_page=2&page=3", "token "+tok, nil)
	names := decodeBody[[]struct{ Name string }](t, w)
	if len(names) != 1 || names[0].Name != "r4" {
		t.Fatalf("page 3: %+v", names)
	}
	link := w.Header().Get("Link")
	if strings.Contains(link, `rel="next"`) || !strings.Contains(link, `page=2&per_page=2>; rel="prev"`) || !strings.Contains(link, `page=1&per_page=2>; rel="first"`) {
		t.Errorf("last page Link %q", link)
	}
	// Exactly full last page: no next.
	w = e.do(t, "GET", Prefix+"/user/repos?per_page=5", "token "+tok, nil)
	if w.Header().Get("Link") != "" {
		t.Errorf("single full page has Link %q", w.Header().Get("Link"))
	}
}

func TestUserReposVisibility(t *testing.T) {
	e := newEnv(t)
	e.repo(t, e.alice, "open", false)
	e.repo(t, e.alice, "secret", true)
	shared := e.repo(t, e.bob, "shared", true)
	if _, err := e.svc.SetCollaborator(context.Background(), system, shared, "alice", gatehouse.PermRead); err != nil {
		t.Fatal(err)
	}
	list := func(tok, query string) []string {
		w := e.do(t, "GET", Prefix+"/user/repos"+query, "token "+tok, nil)
		var names []string
		for _, r := range decodeBody[[]struct {
			FullName string `json:"full_name"`
		}](t, w) {
			names = append(names, r.FullName)
		}
		return names
	}
	withRepo := e.token(t, e.alice, "with", "repo")
	without := e.token(t, e.alice, "without", "read:org")
	if got := strings.Join(list(withRepo, ""), " "); got != "alice/open alice/secret bob/shared" {
		t.Errorf("with repo scope: %s", got)
	}
	if got := strings.Join(list(without, ""), " "); got != "alice/open" {
		t.Errorf("without repo scope: %s", got)
	}
	if got := strings.Join(list(withRepo, "?visibility=private"), " "); got != "alice/secret bob/shared" {
		t.Errorf("visibility=private: %s", got)
	}
	if got := strings.Join(list(withRepo, "?type=owner"), " "); got != "alice/open alice/secret" {
		t.Errorf("type=owner: %s", got)
	}
	if got := strings.Join(list(withRepo, "?type=member"), " "); got != "bob/shared" {
		t.Errorf("type=member: %s", got)
	}
	// Someone else's listing shows only public repositories.
	w := e.do(t, "GET", Prefix+"/users/bob/repos", "token "+withRepo, nil)
	if got := decodeBody[[]any](t, w); len(got) != 0 {
		t.Errorf("bob's public repos: %v", got)
	}
}

func TestRepoLifecycle(t *testing.T) {
	e := newEnv(t)
	full := e.token(t, e.alice, "full", "repo", "delete_repo")
	publicOnly := e.token(t, e.alice, "public", "public_repo")
	bobTok := e.token(t, e.bob, "bob", "repo")

	// public_repo may create public repositories, not private ones.
	w := e.do(t, "POST", Prefix+"/user/repos", "token "+publicOnly, map[string]any{"name": "p", "private": true})
	expectError(t, w, http.StatusForbidden, "")
	w = e.do(t, "POST", Prefix+"/user/repos", "token "+publicOnly, map[string]any{"name": "p"})
	if w.Code != http.StatusCreated {
		t.Fatalf("public create: %d %s", w.Code, w.Body)
	}
	// visibility wins over private, internal is refused.
	w = e.do(t, "POST", Prefix+"/user/repos", "token "+full, map[string]any{"name": "v", "private": false, "visibility": "private", "auto_init": true})
	r := decodeBody[struct {
		Private  bool    `json:"private"`
		PushedAt *string `json:"pushed_at"`
		CloneURL string  `json:"clone_url"`
	}](t, w)
	if w.Code != 201 || !r.Private || r.PushedAt == nil || r.CloneURL != testBase+"/alice/v.git" {
		t.Fatalf("create with visibility: %d %s", w.Code, w.Body)
	}
	// auto_init made a real commit with a README on main.
	repo, err := e.store.FindRepo(context.Background(), "alice", "v")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := e.repos.Tree(context.Background(), repo.ID, "main")
	if err != nil || len(entries) != 1 || entries[0].Name != "README.md" {
		t.Fatalf("auto_init tree: %v %v", entries, err)
	}
	w = e.do(t, "POST", Prefix+"/user/repos", "token "+full, map[string]any{"name": "i", "visibility": "internal"})
	expectError(t, w, http.StatusUnprocessableEntity, "Validation Failed")
	w = e.do(t, "POST", Prefix+"/user/repos", "token "+full, map[string]any{"description": "no name"})
	expectError(t, w, http.StatusUnprocessableEntity, "Validation Failed")
	w = e.do(t, "POST", Prefix+"/user/repos", "token "+full, map[string]any{"name": "bad name!"})
	expectError(t, w, http.StatusUnprocessableEntity, "Validation Failed")
	w = e.do(t, "POST", Prefix+"/user/repos", "token "+full, map[string]any{"name": 42})
	expectError(t, w, http.StatusUnprocessableEntity, "Validation Failed")

	// bob cannot see it, then can once he collaborates, then cannot again.
	w = e.do(t, "GET", Prefix+"/repos/alice/v", "token "+bobTok, nil)
	expectError(t, w, http.StatusNotFound, msgNotFound)
	w = e.do(t, "PUT", Prefix+"/repos/alice/v/collaborators/bob", "token "+full, map[string]any{"permission": "push"})
	if w.Code != http.StatusNoContent {
		t.Fatalf("PUT collaborator: %d %s", w.Code, w.Body)
	}
	w = e.do(t, "GET", Prefix+"/repos/alice/v", "token "+bobTok, nil)
	if p := decodeBody[struct{ Permissions permissions }](t, w).Permissions; w.Code != 200 || !p.Push || p.Admin {
		t.Fatalf("bob after PUT: %d %s", w.Code, w.Body)
	}
	// bob may push but not administer: 403 with GitHub's text.
	w = e.do(t, "PATCH", Prefix+"/repos/alice/v", "token "+bobTok, map[string]any{"description": "mine"})
	expectError(t, w, http.StatusForbidden, msgAdminRights)
	w = e.do(t, "PUT", Prefix+"/repos/alice/v/collaborators/alice", "token "+full, nil)
	expectError(t, w, http.StatusUnprocessableEntity, "Validation Failed")
	w = e.do(t, "PUT", Prefix+"/repos/alice/v/collaborators/bob", "token "+full, map[string]any{"permission": "owner"})
	expectError(t, w, http.StatusUnprocessableEntity, "Validation Failed")
	w = e.do(t, "PUT", Prefix+"/repos/alice/v/collaborators/nobody", "token "+full, nil)
	expectError(t, w, http.StatusNotFound, msgNotFound)
	w = e.do(t, "DELETE", Prefix+"/repos/alice/v/collaborators/bob", "token "+full, nil)
	if w.Code != http.StatusNoContent {
		t.Fatalf("DELETE collaborator: %d", w.Code)
	}
	w = e.do(t, "GET", Prefix+"/repos/alice/v", "token "+bobTok, nil)
	expectError(t, w, http.StatusNotFound, msgNotFound)

	// PATCH: make it public, then rename it; the old name keeps finding
	// it, as a redirect (the DELETE below).
	w = e.do(t, "PATCH", Prefix+"/repos/alice/v", "token "+full, map[string]any{"private": false, "description": "now open"})
	if w.Code != 200 || decodeBody[struct{ Visibility string }](t, w).Visibility != "public" {
		t.Fatalf("PATCH: %d %s", w.Code, w.Body)
	}
	w = e.do(t, "PATCH", Prefix+"/repos/alice/v", "token "+full, map[string]any{"name": "renamed"})
	if w.Code != 200 || decodeBody[struct {
		FullName string `json:"full_name"`
	}](t, w).FullName != "alice/renamed" {
		t.Fatalf("PATCH name: %d %s", w.Code, w.Body)
	}

	// DELETE needs delete_repo: without it, 403 and the repository stays.
	w = e.do(t, "DELETE", Prefix+"/repos/alice/v", "token "+publicOnly, nil)
	expectError(t, w, http.StatusForbidden, msgAdminRights)
	// By its old name, a 307 to the new one; then the DELETE itself.
	w = e.do(t, "DELETE", Prefix+"/repos/alice/v", "token "+full, nil)
	if w.Code != http.StatusTemporaryRedirect || !strings.HasSuffix(w.Header().Get("Location"), "/api/v3/repos/alice/renamed") {
		t.Fatalf("DELETE by the old name: %d %s", w.Code, w.Body)
	}
	w = e.do(t, "DELETE", Prefix+"/repos/alice/renamed", "token "+full, nil)
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Fatalf("DELETE: %d %s", w.Code, w.Body)
	}
	if _, err := os.Stat(e.repos.Path(repo.ID)); !os.IsNotExist(err) {
		t.Errorf("repository directory still there: %v", err)
	}
	w = e.do(t, "GET", Prefix+"/repos/alice/v", "token "+full, nil)
	expectError(t, w, http.StatusNotFound, msgNotFound)

	// An anonymous caller asking for a private repository is not told
	// whether it exists: 404 like a missing one.
	e.repo(t, e.alice, "hidden", true)
	w = e.do(t, "GET", Prefix+"/repos/alice/hidden", "", nil)
	expectError(t, w, http.StatusNotFound, "")
	w = e.do(t, "GET", Prefix+"/repos/alice/missing", "", nil)
	expectError(t, w, http.StatusNotFound, "")
	// The README of an empty repository is 404.
	w = e.do(t, "GET", Prefix+"/repos/alice/p/readme", "token "+full, nil)
	expectError(t, w, http.StatusNotFound, msgNotFound)
}

func TestKeys(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, e.alice, "keys", "admin:public_key")
	bobTok := e.token(t, e.bob, "keys", "admin:public_key")
	w := e.do(t, "POST", Prefix+"/user/keys", "token "+tok, map[string]any{"key": testKey})
	k := decodeBody[struct {
		ID    int64
		Title string
		Key   string
	}](t, w)
	if w.Code != 201 || k.Title != "alice@laptop" || strings.Contains(k.Key, "alice@laptop") {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	// The same key again, by anyone, is refused.
	w = e.do(t, "POST", Prefix+"/user/keys", "token "+bobTok, map[string]any{"title": "x", "key": testKey})
	expectError(t, w, http.StatusUnprocessableEntity, "Validation Failed")
	if b := decodeBody[errBody](t, w); b.Errors[0]["message"] != "key is already in use" {
		t.Errorf("duplicate key: %s", w.Body)
	}
	// bob can neither see nor delete alice's key.
	path := fmt.Sprintf("%s/user/keys/%d", Prefix, k.ID)
	expectError(t, e.do(t, "GET", path, "token "+bobTok, nil), http.StatusNotFound, msgNotFound)
	expectError(t, e.do(t, "DELETE", path, "token "+bobTok, nil), http.StatusNotFound, msgNotFound)
	expectError(t, e.do(t, "GET", Prefix+"/user/keys/abc", "token "+tok, nil), http.StatusNotFound, msgNotFound)
	if w := e.do(t, "DELETE", path, "token "+tok, nil); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d", w.Code)
	}
	expectError(t, e.do(t, "GET", path, "token "+tok, nil), http.StatusNotFound, msgNotFound)
}

func TestAdminTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin, err := e.svc.CreateToken(ctx, system, service.NewToken{UserID: e.root.ID, Note: "admin", Scopes: []string{"site_admin"}, Expires: "never"})
	if err != nil {
		t.Fatal(err)
	}
	victim := e.token(t, e.bob, "victim", "repo")
	if w := e.do(t, "GET", Prefix+"/user", "token "+victim, nil); w.Code != 200 {
		t.Fatalf("victim token: %d", w.Code)
	}
	w := e.do(t, "GET", Prefix+"/admin/tokens", "token "+admin.Secret, nil)
	list := decodeBody[[]struct {
		ID    int64
		Token string
		Note  string
		User  struct{ Login string }
	}](t, w)
	if w.Code != 200 || len(list) != 2 {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	var victimID int64
	for _, a := range list {
		if a.Token != "" {
			t.Fatalf("a secret was listed: %+v", a)
		}
		if a.Note == "victim" && a.User.Login == "bob" {
			victimID = a.ID
		}
	}
	if strings.Contains(w.Body.String(), victim) || strings.Contains(w.Body.String(), admin.Secret) {
		t.Fatal("a secret appears in the listing")
	}
	// The token making the call cannot delete itself.
	w = e.do(t, "DELETE", fmt.Sprintf("%s/admin/tokens/%d", Prefix, admin.Token.ID), "token "+admin.Secret, nil)
	expectError(t, w, http.StatusForbidden, msgDeleteInUse)
	w = e.do(t, "DELETE", fmt.Sprintf("%s/admin/tokens/%d", Prefix, victimID), "token "+admin.Secret, nil)
	if w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	// It stops working at once, although it was cached.
	expectError(t, e.do(t, "GET", Prefix+"/user", "token "+victim, nil), http.StatusUnauthorized, msgBadCredentials)
	w = e.do(t, "DELETE", fmt.Sprintf("%s/admin/tokens/%d", Prefix, victimID), "token "+admin.Secret, nil)
	expectError(t, w, http.StatusNotFound, msgNotFound)
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, envOptions{rate: RateLimit{PerHour: 3, AnonymousPerHour: 2}})
	tok := e.token(t, e.alice, "t", "repo")
	other := e.token(t, e.alice, "other", "repo")
	for i := 1; i <= 3; i++ {
		w := e.do(t, "GET", Prefix+"/user", "token "+tok, nil)
		if w.Code != 200 || w.Header().Get("X-RateLimit-Remaining") != fmt.Sprint(3-i) ||
			w.Header().Get("X-RateLimit-Used") != fmt.Sprint(i) || w.Header().Get("X-RateLimit-Limit") != "3" ||
			w.Header().Get("X-RateLimit-Resource") != "core" {
			t.Fatalf("call %d: %d %v", i, w.Code, w.Header())
		}
		reset := w.Header().Get("X-RateLimit-Reset")
		if want := fmt.Sprint(e.now.Add(time.Hour).Unix()); reset != want {
			t.Fatalf("reset %s, want %s", reset, want)
		}
	}
	// The budget is the user's, shared by all of their tokens.
	w := e.do(t, "GET", Prefix+"/user", "token "+other, nil)
	expectError(t, w, http.StatusForbidden, fmt.Sprintf("API rate limit exceeded for user ID %d.", e.alice.ID))
	if w.Header().Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("remaining %q", w.Header().Get("X-RateLimit-Remaining"))
	}
	// GraphQL has its own budget; /rate_limit is free and reports both.
	w = e.do(t, "POST", GraphQLPath, "token "+tok, map[string]any{"query": "{viewer{login}}"})
	if w.Code != 200 || w.Header().Get("X-RateLimit-Resource") != "graphql" {
		t.Fatalf("graphql: %d %v", w.Code, w.Header())
	}
	w = e.do(t, "GET", Prefix+"/rate_limit", "token "+tok, nil)
	rl := decodeBody[rateLimits](t, w)
	if w.Code != 200 || rl.Rate.Remaining != 0 || rl.Resources["graphql"].Used != 1 {
		t.Fatalf("rate_limit: %d %s", w.Code, w.Body)
	}
	// Anonymous callers are counted per address.
	e.do(t, "GET", Prefix+"/meta", "", nil)
	e.do(t, "GET", Prefix+"/meta", "", nil)
	w = e.do(t, "GET", Prefix+"/meta", "", nil)
	expectError(t, w, http.StatusForbidden, "")
	// A new hour, a new budget.
	e.now = e.now.Add(time.Hour)
	if w := e.do(t, "GET", Prefix+"/user", "token "+tok, nil); w.Code != 200 {
		t.Fatalf("after the window: %d", w.Code)
	}
}

func TestRateLimitOff(t *testing.T) {
	e := newEnv(t)
	w := e.do(t, "GET", Prefix+"/rate_limit", "", nil)
	expectError(t, w, http.StatusNotFound, "Rate limiting is not enabled.")
}

func TestMetaAndZen(t *testing.T) {
	e := newEnv(t)
	w := e.do(t, "GET", Prefix+"/meta", "", nil)
	m := decodeBody[meta](t, w)
	if m.InstalledVersion != EnterpriseVersion || m.VerifiablePasswordAuthentication || m.GatehouseVersion != "1.2.3-test" {
		t.Errorf("meta: %s", w.Body)
	}
	w = e.do(t, "GET", Prefix+"/zen", "", nil)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") || w.Body.Len() == 0 {
		t.Errorf("zen: %d %q", w.Code, w.Body)
	}
	// Trailing slash variants of the root, and unknown paths as JSON 404.
	for _, p := range []string{Prefix, Prefix + "/"} {
		if w := e.do(t, "GET", p, "", nil); w.Code != 200 {
			t.Errorf("GET %s: %d", p, w.Code)
		}
	}
	expectError(t, e.do(t, "POST", Prefix+"/meta", "", nil), http.StatusNotFound, msgNotFound)
	expectError(t, e.do(t, "GET", "/api/v4/user", "", nil), http.StatusNotFound, msgNotFound)
}

func TestUserPatchAndEmails(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, e.alice, "u", "user")
	w := e.do(t, "PATCH", Prefix+"/user", "token "+tok, map[string]any{"name": "Alice Pleasance", "blog": "ignored"})
	if w.Code != 200 || decodeBody[struct{ Name string }](t, w).Name != "Alice Pleasance" {
		t.Fatalf("PATCH /user: %d %s", w.Code, w.Body)
	}
	w = e.do(t, "PATCH", Prefix+"/user", "token "+tok, map[string]any{"email": "new@example.com"})
	expectError(t, w, http.StatusUnprocessableEntity, "Validation Failed")
	w = e.do(t, "GET", Prefix+"/user/emails", "token "+tok, nil)
	em := decodeBody[[]email](t, w)
	if len(em) != 1 || em[0].Email != "alice@example.com" || !em[0].Primary {
		t.Fatalf("emails: %s", w.Body)
	}
	// user:email alone may read the addresses but not change the profile.
	emailOnly := e.token(t, e.alice, "e", "user:email")
	if w := e.do(t, "GET", Prefix+"/user/emails", "token "+emailOnly, nil); w.Code != 200 {
		t.Fatalf("emails with user:email: %d", w.Code)
	}
	expectError(t, e.do(t, "PATCH", Prefix+"/user", "token "+emailOnly, map[string]any{"name": "x"}), http.StatusNotFound, msgNotFound)
	// Without user the profile is the public one.
	w = e.do(t, "GET", Prefix+"/user", "token "+emailOnly, nil)
	if strings.Contains(w.Body.String(), "alice@example.com") {
		t.Errorf("private e-mail shown without the user scope: %s", w.Body)
	}
}

// gql posts a GraphQL request and returns the raw response.
func (e *env) gql(t *testing.T, tok, query string, vars map[string]any) (int, string) {
	t.Helper()
	w := e.do(t, "POST", GraphQLPath, "token "+tok, map[string]any{"query": query, "variables": vars})
	return w.Code, w.Body.String()
}

func TestGraphQL(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, e.alice, "t", "repo", "read:org")
	// Exactly the selected fields: gh decodes strictly.
	if code, body := e.gql(t, tok, "query UserCurrent{viewer{login}}", nil); code != 200 || body != `{"data":{"viewer":{"login":"alice"}}}` {
		t.Fatalf("viewer: %d %s", code, body)
	}
	_, body := e.gql(t, tok, `query { viewer { login organizations(first: 100) { nodes { login } } } }`, nil)
	if body != `{"data":{"viewer":{"login":"alice","organizations":{"nodes":[]}}}}` {
		t.Errorf("organizations: %s", body)
	}
	// gh repo create's mutation, then gh repo view's query, by name.
	_, body = e.gql(t, tok, ghCreateMutation, map[string]any{"input": map[string]any{
		"name": "demo", "visibility": "PRIVATE", "description": "d", "hasIssuesEnabled": true, "hasWikiEnabled": true,
		"ownerId": nodeID("User", e.alice.ID)}})
	if body != `{"data":{"createRepository":{"repository":{"id":"`+nodeID("Repository", 1)+`","name":"demo","owner":{"login":"alice"},"url":"`+testBase+`/alice/demo"}}}}` {
		t.Fatalf("create: %s", body)
	}
	_, body = e.gql(t, tok, `query RepositoryInfo($owner: String!, $name: String!) { repository(owner: $owner, name: $name) {name,owner{id,login},description} }`,
		map[string]any{"owner": "alice", "name": "demo"})
	if body != `{"data":{"repository":{"name":"demo","owner":{"id":"`+nodeID("User", e.alice.ID)+`","login":"alice"},"description":"d"}}}` {
		t.Errorf("view: %s", body)
	}
	// The name is taken now; other owners are refused.
	_, body = e.gql(t, tok, ghCreateMutation, map[string]any{"input": map[string]any{"name": "demo", "visibility": "PUBLIC"}})
	if !strings.Contains(body, `"type":"UNPROCESSABLE"`) || !strings.Contains(body, `"createRepository":null`) {
		t.Errorf("duplicate: %s", body)
	}
	_, body = e.gql(t, tok, ghCreateMutation, map[string]any{"input": map[string]any{"name": "x", "visibility": "PUBLIC", "ownerId": nodeID("User", e.bob.ID)}})
	if !strings.Contains(body, `"type":"NOT_FOUND"`) {
		t.Errorf("other owner: %s", body)
	}
	// A private repository of someone else is NOT_FOUND, like a missing one.
	bobTok := e.token(t, e.bob, "b", "repo")
	_, body = e.gql(t, bobTok, `query($o:String!,$n:String!){repository(owner:$o,name:$n){id}}`, map[string]any{"o": "alice", "n": "demo"})
	if body != `{"data":{"repository":null},"errors":[{"type":"NOT_FOUND","path":["repository"],"message":"Could not resolve to a Repository with the name 'alice/demo'."}]}` {
		t.Errorf("hidden repo: %s", body)
	}
	// Authentication is required, with GitHub's message.
	w := e.do(t, "POST", GraphQLPath, "", map[string]any{"query": "{viewer{login}}"})
	expectError(t, w, http.StatusUnauthorized, msgGraphQLAuth)
	// An empty query, and a body that is not JSON.
	if _, body := e.gql(t, tok, "", nil); !strings.Contains(body, "A query attribute must be specified") {
		t.Errorf("empty query: %s", body)
	}
	expectError(t, e.do(t, "POST", GraphQLPath, "token "+tok, "{"), http.StatusBadRequest, "Problems parsing JSON")
	// Introspection works, as on GitHub (clients probe for features).
	if _, body := e.gql(t, tok, "{__schema{types{name}}}", nil); !strings.Contains(body, `{"name":"Repository"}`) {
		t.Errorf("introspection: %s", body)
	}
}

func TestGraphQLEmptyRepositoryRef(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, e.alice, "t", "repo")
	e.repo(t, e.alice, "empty", false)
	if _, err := e.svc.CreateRepo(context.Background(), system, service.NewRepo{Owner: "alice", Name: "full", Readme: true}); err != nil {
		t.Fatal(err)
	}
	q := `query($n:String!){repository(owner:"alice",name:$n){defaultBranchRef{name} viewerPermission isPrivate visibility nameWithOwner}}`
	_, body := e.gql(t, tok, q, map[string]any{"n": "empty"})
	if body != `{"data":{"repository":{"defaultBranchRef":null,"viewerPermission":"ADMIN","isPrivate":false,"visibility":"PUBLIC","nameWithOwner":"alice/empty"}}}` {
		t.Errorf("empty: %s", body)
	}
	_, body = e.gql(t, tok, q, map[string]any{"n": "full"})
	if !strings.Contains(body, `"defaultBranchRef":{"name":"main"}`) {
		t.Errorf("full: %s", body)
	}
}

// TestNoSecretsInLogs runs a mix of calls, good and bad, and checks that
// no token appears in the log, including tokens sent in URLs.
func TestNoSecretsInLogs(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, e.alice, "t", "repo")
	req := httptest.NewRequest("GET", Prefix+"/user?access_token="+tok, nil)
	req.RemoteAddr = "127.0.0.1:1"
	httpx.Logging(e.h.log, e.h).ServeHTTP(httptest.NewRecorder(), req)
	e.do(t, "GET", Prefix+"/user", "token "+tok, nil)
	e.do(t, "GET", Prefix+"/user", "token "+tok+"x", nil)
	e.do(t, "POST", GraphQLPath, "token "+tok, map[string]any{"query": "{viewer{login}}"})
	if strings.Contains(e.logs.String(), tok) {
		t.Fatal("token in the log")
	}
}

// TestPrivateMode: when the whole instance is private, anonymous callers
// are asked to authenticate instead of being told "Not Found".
func TestPrivateMode(t *testing.T) {
	e := newEnv(t)
	e.repo(t, e.alice, "open", false)
	if w := e.do(t, "GET", Prefix+"/repos/alice/open", "", nil); w.Code != 200 {
		t.Fatalf("public repository, anonymous: %d", w.Code)
	}
	e.build(envOptions{privateMode: true})
	expectError(t, e.do(t, "GET", Prefix+"/repos/alice/open", "", nil), http.StatusUnauthorized, msgRequiresAuth)
	tok := e.token(t, e.bob, "b", "repo")
	if w := e.do(t, "GET", Prefix+"/repos/alice/open", "token "+tok, nil); w.Code != 200 {
		t.Fatalf("signed in: %d", w.Code)
	}
}
