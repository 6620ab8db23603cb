package api

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/token"
)

// walkFixture is the state every route case runs against: alice owns a
// public repository "pub" (with a README, bob collaborating) and a private
// one "priv"; alice has an SSH key; bob has a token an admin may delete.
// alice owns the organization "acme", where bob is a member and in the
// team "devs", which is granted push on the private acme/tools.
type walkFixture struct {
	*env
	aliceKey   *gatehouse.Key
	bobKey     *gatehouse.Key
	bobTokenID int64
	// patRequestID is bob's pending fine-grained token for acme; patID
	// alice's approved one (she owns acme).
	patRequestID, patID int64
	// deployKeys are the deploy key of each of alice's repositories, for
	// {id} on the deploy key routes.
	deployKeys map[string]int64
}

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDMWWhIuG+8MHYCxJ7ViKRYfAS4cK3kmfOxzo7DqU6cJ alice@laptop"
const testKey2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJmQf6xy8MCbIJSd9OU1a8Bm9Tq8LgUjLPE+iFjvuHHD bob@desk"

var deployTestKeys = map[string]string{
	"pub":  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPAnLc0dJq5GfSI2ju/OFQyPnENadzl26zyxw772ragr deploy1@ci",
	"priv": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEuS3J/4XNMqrl/6A9F4NTbYLHlqfwAcoMjpk53iRxml deploy2@ci",
}

func newWalkFixture(t *testing.T) *walkFixture {
	t.Helper()
	e := newEnv(t)
	ctx := context.Background()
	pub, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "alice", Name: "pub", Readme: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetCollaborator(ctx, system, pub, "bob", gatehouse.PermWrite); err != nil {
		t.Fatal(err)
	}
	// priv has a README so that fine-grained tokens can read it
	// (finegrained_test.go).
	if _, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "alice", Name: "priv", Private: true, Readme: true}); err != nil {
		t.Fatal(err)
	}
	ak, err := e.svc.CreateKey(ctx, system, e.alice.ID, "laptop", testKey)
	if err != nil {
		t.Fatal(err)
	}
	bk, err := e.svc.CreateKey(ctx, system, e.bob.ID, "desk", testKey2)
	if err != nil {
		t.Fatal(err)
	}
	it, err := e.svc.CreateToken(ctx, system, service.NewToken{UserID: e.bob.ID, Note: "victim", Expires: "never"})
	if err != nil {
		t.Fatal(err)
	}
	e.org(t, "acme", e.alice, e.bob)
	e.team(t, "acme", "Devs", "closed", e.bob)
	if _, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "acme", Name: "tools", Private: true}); err != nil {
		t.Fatal(err)
	}
	org, err := e.svc.FindOrg(ctx, system, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetTeamRepo(ctx, system, org, "devs", "acme", "tools", gatehouse.PermWrite); err != nil {
		t.Fatal(err)
	}
	req, err := e.svc.CreateFineGrainedToken(ctx, system, service.NewFineGrained{UserID: e.bob.ID, Name: "bob-request", Owner: "acme",
		Repos: gatehouse.AllRepos, Permissions: token.Perms{"contents": token.ReadOnly}, Expires: "30d"})
	if err != nil {
		t.Fatal(err)
	}
	granted, err := e.svc.CreateFineGrainedToken(ctx, system, service.NewFineGrained{UserID: e.alice.ID, Name: "alice-granted", Owner: "acme",
		Repos: gatehouse.SelectedRepos, RepoNames: []string{"tools"}, Permissions: token.Perms{"contents": token.ReadWrite}, Expires: "30d"})
	if err != nil {
		t.Fatal(err)
	}
	if req.Token.Approval != gatehouse.TokenPending || granted.Token.Approval != gatehouse.TokenApproved {
		t.Fatalf("approval states: bob's %q, alice's %q", req.Token.Approval, granted.Token.Approval)
	}
	deploy := map[string]int64{}
	for name, key := range deployTestKeys {
		repo, _, err := e.svc.Repo(ctx, system, "alice", name, authz.Admin)
		if err != nil {
			t.Fatal(err)
		}
		k, err := e.svc.CreateDeployKey(ctx, system, repo, "ci "+name, key, true)
		if err != nil {
			t.Fatal(err)
		}
		deploy[name] = k.ID
	}
	return &walkFixture{env: e, aliceKey: ak, bobKey: bk, bobTokenID: it.Token.ID, deployKeys: deploy,
		patRequestID: req.Token.ID, patID: granted.Token.ID}
}

// path fills a route pattern with the fixture's names. repoName picks the
// repository for {repo}; keyID the key for {id} on key routes.
func (f *walkFixture) path(rt *route, repoName string, keyID int64) string {
	p := strings.TrimSuffix(rt.pattern, "{$}")
	id := keyID
	if strings.Contains(p, "/admin/tokens/") {
		id = f.bobTokenID
	}
	if strings.HasSuffix(p, "/{repo}/keys/{id}") {
		id = f.deployKeys[repoName]
	}
	ref := "main"
	if strings.Contains(p, "/git/") {
		ref = "heads/main" // the git refs routes name refs without refs/
	}
	r := strings.NewReplacer(
		"{owner}", "alice",
		"{repo}", repoName,
		"{username}", "bob",
		"{org}", "acme",
		"{id}", fmt.Sprint(id),
		// The content routes: pub has a README on main.
		"{path...}", "README.md",
		"{dir...}", "",
		"{branch...}", "main",
		"{ref...}", ref,
		"{basehead...}", "main...main",
	)
	switch {
	case strings.Contains(p, "/orgs/{org}/"):
		// Organization routes name bob (a member) and acme's repository.
		r = strings.NewReplacer("{org}", "acme", "{team_slug}", "devs", "{username}", "bob", "{owner}", "acme", "{repo}", "tools",
			"{pat_request_id}", fmt.Sprint(f.patRequestID), "{pat_id}", fmt.Sprint(f.patID))
	case !strings.Contains(p, "/repos/"):
		r = strings.NewReplacer("{username}", "alice", "{org}", "acme", "{id}", fmt.Sprint(id))
	}
	return r.Replace(p)
}

// body is a valid request body for routes that take one.
func body(rt *route) any {
	return (*walkFixture)(nil).body(rt)
}

// body is body with the fixture's ids where a route's body names some.
func (f *walkFixture) body(rt *route) any {
	switch rt.method + " " + rt.pattern {
	case "POST " + Prefix + "/orgs/{org}/personal-access-token-requests":
		return map[string]any{"pat_request_ids": []int64{f.patRequestID}, "action": "approve"}
	case "POST " + Prefix + "/orgs/{org}/personal-access-token-requests/{pat_request_id}":
		return map[string]any{"action": "approve", "reason": "looks right"}
	case "POST " + Prefix + "/orgs/{org}/personal-access-tokens":
		return map[string]any{"pat_ids": []int64{f.patID}, "action": "revoke"}
	case "POST " + Prefix + "/orgs/{org}/personal-access-tokens/{pat_id}":
		return map[string]any{"action": "revoke"}
	}
	return baseBody(rt)
}

func baseBody(rt *route) any {
	switch rt.method + " " + rt.pattern {
	case "POST " + Prefix + "/user/repos":
		return map[string]any{"name": "fresh", "private": true}
	case "POST " + Prefix + "/user/keys":
		return map[string]any{"title": "new", "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfszTbe1BITiJIEYZh0bZp new@host"}
	case "PATCH " + Prefix + "/user":
		return map[string]any{"name": "Alice L."}
	case "PATCH " + Prefix + "/repos/{owner}/{repo}":
		return map[string]any{"description": "changed"}
	case "PUT " + Prefix + "/repos/{owner}/{repo}/collaborators/{username}":
		return map[string]any{"permission": "pull"}
	case "PATCH " + Prefix + "/orgs/{org}":
		return map[string]any{"description": "changed", "default_repository_permission": "none"}
	case "PUT " + Prefix + "/orgs/{org}/memberships/{username}":
		return map[string]any{"role": "admin"}
	case "POST " + Prefix + "/orgs/{org}/repos":
		return map[string]any{"name": "fresh", "private": true}
	case "POST " + Prefix + "/orgs/{org}/teams":
		return map[string]any{"name": "New Team", "privacy": "closed"}
	case "PATCH " + Prefix + "/orgs/{org}/teams/{team_slug}":
		return map[string]any{"description": "changed"}
	case "PUT " + Prefix + "/orgs/{org}/teams/{team_slug}/memberships/{username}":
		return map[string]any{"role": "maintainer"}
	case "PUT " + Prefix + "/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}":
		return map[string]any{"permission": "maintain"}
	case "POST " + Prefix + "/credentials/revoke":
		return map[string]any{"credentials": []string{"gtp_not-a-live-token"}}
	case "POST " + Prefix + "/repos/{owner}/{repo}/keys":
		return map[string]any{"title": "deploy", "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILL+7uknyD0UhOem6ojCTn4DS7OJdgI1fxOk5RuGWY8K deploy3@ci", "read_only": true}
	case "POST " + Prefix + "/admin/organizations":
		return map[string]any{"login": "neworg", "admin": "bob", "profile_name": "New Org"}
	case "POST " + GraphQLPath:
		return map[string]any{"query": "query { viewer { login } }"}
	}
	return nil
}

// allScopesExcept returns every registered scope that does not satisfy any
// of required: a token that can do everything but this route.
func allScopesExcept(required []string) []string {
	var out []string
	for _, info := range token.Scopes() {
		grants := false
		for _, r := range required {
			grants = grants || token.Has([]string{info.Name}, r)
		}
		if !grants {
			out = append(out, info.Name)
		}
	}
	return out
}

func allScopes() []string { return allScopesExcept(nil) }

// userScopes drops site_admin, which only site administrators' tokens may
// carry.
func userScopes(scopes []string) []string {
	return slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == "site_admin" })
}

// deadTokens returns, for alice, a token that expired, one that was
// deleted and one that never existed (well-formed), plus garbage.
func (f *walkFixture) deadTokens(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	expired, err := token.Generate(token.DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateToken(ctx, &gatehouse.Token{UserID: f.alice.ID, Note: "expired", Scopes: allScopes(),
		Hash: token.Hash(expired), LastEight: token.LastEight(expired), ExpiresAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	deleted, err := f.svc.CreateToken(ctx, system, service.NewToken{UserID: f.alice.ID, Note: "deleted", Scopes: userScopes(allScopes()), Expires: "never"})
	if err != nil {
		t.Fatal(err)
	}
	// Use it once so that it sits in the cache, then delete it: the
	// deletion must win over the cache.
	if w := f.do(t, "GET", Prefix+"/user", "token "+deleted.Secret, nil); w.Code != http.StatusOK {
		t.Fatalf("fresh token refused: %d", w.Code)
	}
	if _, err := f.svc.DeleteToken(ctx, system, deleted.Token.ID); err != nil {
		t.Fatal(err)
	}
	unknown, _ := token.Generate(token.DefaultPrefix)
	return map[string]string{
		"expired":   expired,
		"deleted":   deleted.Secret,
		"unknown":   unknown,
		"malformed": "gtp_" + strings.Repeat("0", 36),
	}
}

// TestRouteTableWalk proves, for every route and every credential form,
// the verdicts the route table promises: 401 "Requires authentication"
// without credentials where they are needed, 401 "Bad credentials" for
// dead tokens, the route's denial for a token with every scope but the
// one it needs, 404 for private things of others, and success for a
// token that has what it takes.
func TestRouteTableWalk(t *testing.T) {
	probe := New(Config{ExternalURL: testBase})
	for _, rt := range probe.routes {
		t.Run(rt.method+" "+rt.pattern, func(t *testing.T) {
			t.Parallel()
			f := newWalkFixture(t)
			rt := f.h.route(rt.method, rt.pattern)
			path := f.path(rt, "pub", f.aliceKey.ID)
			wantAccepted := token.HeaderValue(rt.accepted())

			// No credentials.
			w := f.do(t, rt.method, path, "", f.body(rt))
			switch {
			case rt.auth && rt.pattern == GraphQLPath:
				expectError(t, w, http.StatusUnauthorized, msgGraphQLAuth)
			case rt.auth:
				expectError(t, w, http.StatusUnauthorized, msgRequiresAuth)
			case w.Code == http.StatusUnauthorized:
				t.Fatalf("anonymous call refused with 401 on a route that needs no credentials: %s", w.Body)
			}
			if got := w.Header().Get("X-Accepted-OAuth-Scopes"); got != wantAccepted {
				t.Errorf("X-Accepted-OAuth-Scopes %q, want %q", got, wantAccepted)
			}

			dead := f.deadTokens(t)
			lackingScopes := userScopes(allScopesExcept(rt.scopes))
			lacking := f.token(t, f.alice, "lacking", lackingScopes...)
			owner := f.alice
			if rt.siteAdmin {
				owner = f.root
			}
			full := f.token(t, owner, "full", allScopes()...)
			bobFull := f.token(t, f.bob, "bob-full", allScopes()...)

			for _, form := range credForms {
				// Dead tokens, in every form.
				for kind, tok := range dead {
					w := f.do(t, rt.method, path, form.header(tok), f.body(rt))
					if w.Code != http.StatusUnauthorized {
						t.Fatalf("%s %s token: status %d, want 401: %s", form.name, kind, w.Code, w.Body)
					}
					expectError(t, w, http.StatusUnauthorized, msgBadCredentials)
				}
				// Every scope but the route's.
				if len(rt.scopes) > 0 {
					w := f.do(t, rt.method, path, form.header(lacking), f.body(rt))
					expectError(t, w, rt.deny.status(), rt.deny.text())
					if got := w.Header().Get("X-OAuth-Scopes"); got != token.HeaderValue(lackingScopes) {
						// Normalization may drop implied children; compare sets.
						norm, _, _ := token.Normalize(lackingScopes)
						if got != token.HeaderValue(norm) {
							t.Errorf("X-OAuth-Scopes %q, want %q", got, token.HeaderValue(norm))
						}
					}
				}
				// Private things of someone else: 404, even with every scope.
				if rt.repo {
					w := f.do(t, rt.method, f.path(rt, "priv", f.aliceKey.ID), form.header(bobFull), f.body(rt))
					expectError(t, w, http.StatusNotFound, msgNotFound)
				}
				if strings.Contains(rt.pattern, "/user/keys/{id}") {
					w := f.do(t, rt.method, f.path(rt, "pub", f.bobKey.ID), form.header(full), f.body(rt))
					expectError(t, w, http.StatusNotFound, msgNotFound)
				}
				// A signed-in user who is not a site admin, with site_admin.
				if rt.siteAdmin {
					notAdmin := f.storeToken(t, f.alice, "not-admin-"+form.name, "site_admin")
					w := f.do(t, rt.method, path, form.header(notAdmin), f.body(rt))
					expectError(t, w, http.StatusForbidden, msgSiteAdmin)
				}
			}
			// An outsider of the organization holding every scope (root, a
			// site admin, who gains nothing on organizations): concealed
			// things are not found, lists are empty or public only.
			if strings.Contains(rt.pattern, "/orgs/{org}") {
				want, ok := outsiderStatus[rt.method+" "+strings.TrimPrefix(rt.pattern, Prefix)]
				if !ok {
					t.Fatalf("no outsider verdict for %s %s: add it to outsiderStatus", rt.method, rt.pattern)
				}
				outsider := f.token(t, f.root, "outsider", allScopes()...)
				w := f.do(t, rt.method, path, "token "+outsider, f.body(rt))
				if w.Code != want {
					t.Fatalf("outsider with every scope: status %d, want %d: %s", w.Code, want, w.Body)
				}
				if want == http.StatusOK && rt.method == "GET" && strings.HasPrefix(w.Body.String(), "[") {
					for _, private := range []string{"tools", `"bob"`, "devs"} {
						if strings.Contains(w.Body.String(), private) {
							t.Errorf("an outsider's listing shows %s: %s", private, w.Body)
						}
					}
				}
			}
			// Private repository of the caller through a token without repo:
			// still 404, so a token cannot probe for private names.
			if rt.repo {
				noRepo := f.token(t, f.alice, "no-repo", allScopesExcept([]string{"repo"})...)
				w := f.do(t, rt.method, f.path(rt, "priv", 0), "token "+noRepo, f.body(rt))
				expectError(t, w, http.StatusNotFound, "")
			}

			// Finally a token that has what it takes succeeds, in every form
			// (for routes that change state, only the first form runs).
			for i, form := range credForms {
				if rt.method != "GET" && i > 0 {
					break
				}
				w := f.do(t, rt.method, path, form.header(full), f.body(rt))
				want := successStatus(rt)
				if w.Code != want {
					t.Fatalf("%s with every scope: status %d, want %d: %s", form.name, w.Code, want, w.Body)
				}
				if got := w.Header().Get("X-OAuth-Scopes"); got == "" {
					t.Errorf("%s: no X-OAuth-Scopes on an authenticated response", form.name)
				}
				for _, hd := range []string{"X-GitHub-Media-Type", "X-GitHub-Enterprise-Version", "X-GitHub-Request-Id"} {
					if w.Header().Get(hd) == "" {
						t.Errorf("%s: no %s", form.name, hd)
					}
				}
			}
			// Nothing secret reached the log.
			for _, tok := range append([]string{lacking, full, bobFull}, dead["expired"], dead["deleted"], dead["unknown"]) {
				if strings.Contains(f.logs.String(), tok) {
					t.Fatal("a token reached the log")
				}
			}
		})
	}
}

// outsiderStatus is what a signed-in outsider of acme holding every scope
// gets from each organization route in the walk fixture.
var outsiderStatus = map[string]int{
	"GET /orgs/{org}":                                                              http.StatusOK,
	"PATCH /orgs/{org}":                                                            http.StatusNotFound,
	"GET /orgs/{org}/members":                                                      http.StatusOK, // empty
	"GET /orgs/{org}/memberships/{username}":                                       http.StatusNotFound,
	"PUT /orgs/{org}/memberships/{username}":                                       http.StatusNotFound,
	"DELETE /orgs/{org}/memberships/{username}":                                    http.StatusNotFound,
	"GET /orgs/{org}/repos":                                                        http.StatusOK, // public only
	"POST /orgs/{org}/repos":                                                       http.StatusForbidden,
	"GET /orgs/{org}/teams":                                                        http.StatusOK, // empty
	"POST /orgs/{org}/teams":                                                       http.StatusNotFound,
	"GET /orgs/{org}/teams/{team_slug}":                                            http.StatusNotFound,
	"PATCH /orgs/{org}/teams/{team_slug}":                                          http.StatusNotFound,
	"DELETE /orgs/{org}/teams/{team_slug}":                                         http.StatusNotFound,
	"GET /orgs/{org}/teams/{team_slug}/members":                                    http.StatusNotFound,
	"GET /orgs/{org}/teams/{team_slug}/memberships/{username}":                     http.StatusNotFound,
	"PUT /orgs/{org}/teams/{team_slug}/memberships/{username}":                     http.StatusNotFound,
	"DELETE /orgs/{org}/teams/{team_slug}/memberships/{username}":                  http.StatusNotFound,
	"GET /orgs/{org}/teams/{team_slug}/repos":                                      http.StatusNotFound,
	"GET /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}":                       http.StatusNotFound,
	"PUT /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}":                       http.StatusNotFound,
	"DELETE /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}":                    http.StatusNotFound,
	"GET /orgs/{org}/personal-access-token-requests":                               http.StatusNotFound,
	"POST /orgs/{org}/personal-access-token-requests":                              http.StatusNotFound,
	"POST /orgs/{org}/personal-access-token-requests/{pat_request_id}":             http.StatusNotFound,
	"GET /orgs/{org}/personal-access-token-requests/{pat_request_id}/repositories": http.StatusNotFound,
	"GET /orgs/{org}/personal-access-tokens":                                       http.StatusNotFound,
	"POST /orgs/{org}/personal-access-tokens":                                      http.StatusNotFound,
	"POST /orgs/{org}/personal-access-tokens/{pat_id}":                             http.StatusNotFound,
	"GET /orgs/{org}/personal-access-tokens/{pat_id}/repositories":                 http.StatusNotFound,
}

// successStatus is what a caller with every scope gets from a route in
// the walk fixture.
func successStatus(rt *route) int {
	switch rt.method + " " + rt.pattern {
	case "GET " + Prefix + "/rate_limit":
		return http.StatusNotFound // rate limiting off
	case "PUT " + Prefix + "/orgs/{org}/memberships/{username}",
		"PUT " + Prefix + "/orgs/{org}/teams/{team_slug}/memberships/{username}":
		return http.StatusOK // the membership
	case "GET " + Prefix + "/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}":
		return http.StatusNoContent // granted; asked without the repository media type
	case "POST " + Prefix + "/credentials/revoke",
		"POST " + Prefix + "/orgs/{org}/personal-access-token-requests",
		"POST " + Prefix + "/orgs/{org}/personal-access-tokens":
		return http.StatusAccepted
	case "POST " + Prefix + "/orgs/{org}/personal-access-token-requests/{pat_request_id}",
		"POST " + Prefix + "/orgs/{org}/personal-access-tokens/{pat_id}":
		return http.StatusNoContent
	case "GET " + Prefix + "/repos/{owner}/{repo}/tarball", "GET " + Prefix + "/repos/{owner}/{repo}/tarball/{ref...}",
		"GET " + Prefix + "/repos/{owner}/{repo}/zipball", "GET " + Prefix + "/repos/{owner}/{repo}/zipball/{ref...}":
		return http.StatusFound // to the download, as GitHub's codeload link
	}
	switch rt.method {
	case "POST":
		if rt.pattern == GraphQLPath {
			return http.StatusOK
		}
		return http.StatusCreated
	case "DELETE", "PUT":
		return http.StatusNoContent
	}
	if strings.HasSuffix(rt.pattern, "/collaborators/{username}") {
		return http.StatusNoContent
	}
	return http.StatusOK
}

// route finds a route of h by method and pattern.
func (h *Handler) route(method, pattern string) *route {
	for _, rt := range h.routes {
		if rt.method == method && rt.pattern == pattern {
			return rt
		}
	}
	panic("no route " + method + " " + pattern)
}

// TestRouteTableShape checks the table's own consistency: unique routes,
// a handler each, no scope without credentials, and the table as a whole
// matching testdata/routes.golden.txt, so that any change to what a route
// demands shows up in review.
func TestRouteTableShape(t *testing.T) {
	h := New(Config{ExternalURL: testBase})
	seen := map[string]bool{}
	var b strings.Builder
	for _, rt := range h.routes {
		key := rt.method + " " + rt.pattern
		if seen[key] {
			t.Errorf("duplicate route %s", key)
		}
		seen[key] = true
		if rt.handle == nil {
			t.Errorf("%s has no handler", key)
		}
		if len(rt.scopes) > 0 && !rt.auth {
			t.Errorf("%s demands scopes but not credentials", key)
		}
		if rt.siteAdmin && (!rt.auth || !slices.Contains(rt.scopes, "site_admin")) {
			t.Errorf("%s is for site admins but does not demand credentials and site_admin", key)
		}
		// Leaked-token reporting is for anyone who finds a token: it
		// revokes, never grants, and the service bounds it.
		if rt.method != "GET" && !rt.auth && key != "POST "+Prefix+"/credentials/revoke" {
			t.Errorf("%s changes state without credentials", key)
		}
		for _, s := range rt.scopes {
			if !token.KnownScope(s) {
				t.Errorf("%s names unknown scope %q", key, s)
			}
		}
		fmt.Fprintf(&b, "%-6s %-62s auth=%-5v scopes=%-28s accepted=%q", rt.method, rt.pattern, rt.auth,
			strings.Join(rt.scopes, ","), rt.acceptedHeader[0])
		if rt.repo {
			fmt.Fprintf(&b, " repo=%s", rt.action)
		}
		if rt.siteAdmin {
			b.WriteString(" site_admin_user")
		}
		if rt.perm.Name != "" {
			fmt.Fprintf(&b, " fine_grained=%s", rt.perm)
			if _, ok := token.PermissionInfo(rt.perm.Name); !ok {
				t.Errorf("%s names unknown permission %q", key, rt.perm.Name)
			}
		}
		if len(rt.scopes) > 0 {
			fmt.Fprintf(&b, " deny=%d", rt.deny.status())
		}
		b.WriteString("\n")
	}
	golden(t, "routes.golden.txt", []byte(b.String()))
}

// TestAccessTokenQueryRefused: a token in the URL is refused whatever else
// the request carries, and never logged.
func TestAccessTokenQueryRefused(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, e.alice, "t", "repo")
	for _, q := range []string{"access_token=" + tok, "a=1&access_token=" + tok, "access%5Ftoken=" + tok} {
		for _, authz := range []string{"", "token " + tok} {
			w := e.do(t, "GET", Prefix+"/user?"+q, authz, nil)
			expectError(t, w, http.StatusBadRequest, msgAccessToken)
		}
	}
	if strings.Contains(e.logs.String(), tok) {
		t.Fatal("token from the query string reached the log")
	}
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file (run go test -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
