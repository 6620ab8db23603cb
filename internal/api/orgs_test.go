package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// orgFixture: alice owns acme; bob is a member, in the closed team devs
// (granted push on the private acme/tools); carol is a member in no team,
// and in the secret team hush alone; root is an outsider (a site admin,
// who gains nothing on organizations). acme/site is public, acme/vault
// private and granted to no team.
type orgFixture struct {
	*env
	carol *gatehouse.User
	acme  *gatehouse.User
}

func newOrgFixture(t *testing.T) *orgFixture {
	t.Helper()
	e := newEnv(t)
	ctx := context.Background()
	carol, err := e.svc.CreateUser(ctx, system, service.NewUser{Login: "carol", Email: "carol@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	acme := e.org(t, "acme", e.alice, e.bob, carol)
	e.team(t, "acme", "Devs", "closed", e.bob)
	e.team(t, "acme", "Hush", "secret", carol)
	e.repo(t, acme, "tools", true)
	e.repo(t, acme, "site", false)
	e.repo(t, acme, "vault", true)
	if err := e.svc.SetTeamRepo(ctx, system, acme, "devs", "acme", "tools", gatehouse.PermWrite); err != nil {
		t.Fatal(err)
	}
	return &orgFixture{env: e, carol: carol, acme: acme}
}

// logins decodes a list of objects with a login (users, organizations).
func logins(t *testing.T, body []byte) []string {
	t.Helper()
	var items []struct {
		Login    string `json:"login"`
		FullName string `json:"full_name"`
		Slug     string `json:"slug"`
	}
	if err := json.Unmarshal(body, &items); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	var out []string
	for _, it := range items {
		out = append(out, it.Login+it.FullName+it.Slug)
	}
	return out
}

// TestOrgVerdicts walks the organization routes whose answer depends on
// who asks beyond what the route table checks: anonymous callers,
// outsiders holding every scope, members with the wrong scope and with
// the right one, owners.
func TestOrgVerdicts(t *testing.T) {
	f := newOrgFixture(t)
	n := 0
	tok := func(u *gatehouse.User, scopes ...string) string {
		n++
		return "token " + f.token(t, u, fmt.Sprintf("%s-%d", u.Login, n), scopes...)
	}
	var (
		rootAll   = tok(f.root, allScopes()...)
		bobRepo   = tok(f.bob, "repo")
		bobOrg    = tok(f.bob, "repo", "read:org")
		bobWrite  = tok(f.bob, "repo", "write:org")
		bobAdmin  = tok(f.bob, "repo", "admin:org")
		carolOrg  = tok(f.carol, "repo", "read:org")
		aliceOrg  = tok(f.alice, "repo", "read:org")
		aliceAll  = tok(f.alice, userScopes(allScopes())...)
		alicePub  = tok(f.alice, "read:org")
		bobPublic = tok(f.bob, "public_repo", "read:org")
	)
	cases := []struct {
		name, method, path, auth string
		body                     any
		status                   int
		list                     []string // for 200 lists: the logins, full names or slugs
	}{
		{"members anonymous", "GET", "/orgs/acme/members", "", nil, 200, nil},
		{"members outsider", "GET", "/orgs/acme/members", rootAll, nil, 200, nil},
		{"members without read:org", "GET", "/orgs/acme/members", bobRepo, nil, 200, nil},
		{"members", "GET", "/orgs/acme/members", bobOrg, nil, 200, []string{"alice", "bob", "carol"}},
		{"members admins", "GET", "/orgs/acme/members?role=admin", bobOrg, nil, 200, []string{"alice"}},
		{"members bad role", "GET", "/orgs/acme/members?role=owner", bobOrg, nil, 422, nil},

		{"repos anonymous", "GET", "/orgs/acme/repos", "", nil, 200, []string{"acme/site"}},
		{"repos outsider", "GET", "/orgs/acme/repos", rootAll, nil, 200, []string{"acme/site"}},
		{"repos without repo scope", "GET", "/orgs/acme/repos", bobPublic, nil, 200, []string{"acme/site"}},
		{"repos member", "GET", "/orgs/acme/repos", bobRepo, nil, 200, []string{"acme/site", "acme/tools", "acme/vault"}},
		{"repos private", "GET", "/orgs/acme/repos?type=private", aliceOrg, nil, 200, []string{"acme/tools", "acme/vault"}},
		{"repos forks", "GET", "/orgs/acme/repos?type=forks", aliceOrg, nil, 200, nil},
		{"repos bad type", "GET", "/orgs/acme/repos?type=mine", aliceOrg, nil, 422, nil},

		{"teams outsider", "GET", "/orgs/acme/teams", rootAll, nil, 200, nil},
		{"teams member", "GET", "/orgs/acme/teams", bobOrg, nil, 200, []string{"devs"}},
		{"teams secret member", "GET", "/orgs/acme/teams", carolOrg, nil, 200, []string{"devs", "hush"}},
		{"teams owner", "GET", "/orgs/acme/teams", aliceOrg, nil, 200, []string{"devs", "hush"}},
		{"team outsider", "GET", "/orgs/acme/teams/devs", rootAll, nil, 404, nil},
		{"secret team other member", "GET", "/orgs/acme/teams/hush", bobOrg, nil, 404, nil},
		{"team members", "GET", "/orgs/acme/teams/devs/members", carolOrg, nil, 200, []string{"bob"}},
		{"team members maintainers", "GET", "/orgs/acme/teams/devs/members?role=maintainer", carolOrg, nil, 200, nil},
		{"team repos", "GET", "/orgs/acme/teams/devs/repos", bobOrg, nil, 200, []string{"acme/tools"}},
		{"team repo not granted", "GET", "/orgs/acme/teams/devs/repos/acme/vault", aliceOrg, nil, 404, nil},
		{"team repo granted", "GET", "/orgs/acme/teams/devs/repos/acme/tools", bobOrg, nil, 204, nil},

		{"membership outsider", "GET", "/orgs/acme/memberships/alice", rootAll, nil, 404, nil},
		{"membership member", "GET", "/orgs/acme/memberships/alice", bobOrg, nil, 200, nil},
		{"membership none", "GET", "/orgs/acme/memberships/root", aliceOrg, nil, 404, nil},
		{"add member as member", "PUT", "/orgs/acme/memberships/root", bobWrite, map[string]any{"role": "member"}, 403, nil},
		{"add member as outsider", "PUT", "/orgs/acme/memberships/root", rootAll, map[string]any{"role": "member"}, 404, nil},
		{"add member bad role", "PUT", "/orgs/acme/memberships/root", aliceAll, map[string]any{"role": "owner"}, 422, nil},
		{"add an organization", "PUT", "/orgs/acme/memberships/acme", aliceAll, nil, 422, nil},
		{"add nobody", "PUT", "/orgs/acme/memberships/nobody", aliceAll, nil, 404, nil},
		{"patch as outsider", "PATCH", "/orgs/acme", rootAll, map[string]any{"name": "x"}, 404, nil},
		{"patch as member", "PATCH", "/orgs/acme", bobAdmin, map[string]any{"name": "x"}, 403, nil},
		{"patch bad permission", "PATCH", "/orgs/acme", aliceAll, map[string]any{"default_repository_permission": "pull"}, 422, nil},
		{"patch company", "PATCH", "/orgs/acme", aliceAll, map[string]any{"company": "ACME"}, 422, nil},
		{"create repo as outsider", "POST", "/orgs/acme/repos", rootAll, map[string]any{"name": "x"}, 403, nil},
		{"create private repo without repo scope", "POST", "/orgs/acme/repos", bobPublic, map[string]any{"name": "x", "private": true}, 403, nil},
		{"create team as member", "POST", "/orgs/acme/teams", bobAdmin, map[string]any{"name": "Mine"}, 403, nil},
		{"create nested team", "POST", "/orgs/acme/teams", aliceAll, map[string]any{"name": "Kids", "parent_team_id": 1}, 422, nil},
		{"create team without name", "POST", "/orgs/acme/teams", aliceAll, map[string]any{"description": "x"}, 422, nil},
		{"grant a user's repository", "PUT", "/orgs/acme/teams/devs/repos/alice/mine", aliceAll, nil, 404, nil},
		{"add to team as member", "PUT", "/orgs/acme/teams/devs/memberships/carol", carolOrg, nil, 404, nil},
		{"add to team without write:org", "PUT", "/orgs/acme/teams/devs/memberships/carol", aliceOrg, nil, 404, nil},

		{"org of a user", "GET", "/orgs/bob", "", nil, 404, nil},
		{"unknown org", "GET", "/orgs/nope", aliceAll, nil, 404, nil},
		{"user orgs", "GET", "/user/orgs", bobOrg, nil, 200, []string{"acme"}},
		{"user orgs outsider", "GET", "/user/orgs", rootAll, nil, 200, nil},
		{"user memberships pending", "GET", "/user/memberships/orgs?state=pending", bobOrg, nil, 200, nil},
		{"user teams with repo", "GET", "/user/teams", bobRepo, nil, 200, []string{"devs"}},
		{"user teams", "GET", "/user/teams", carolOrg, nil, 200, []string{"hush"}},
		{"admin org create by user", "POST", "/admin/organizations", aliceAll, map[string]any{"login": "x", "admin": "alice"}, 403, nil},
		{"admin org create no admin", "POST", "/admin/organizations", rootAll, map[string]any{"login": "x"}, 422, nil},
		{"admin org create unknown admin", "POST", "/admin/organizations", rootAll, map[string]any{"login": "x", "admin": "nobody"}, 422, nil},
		{"admin org create bad login", "POST", "/admin/organizations", rootAll, map[string]any{"login": "-x-", "admin": "alice"}, 422, nil},
		{"admin org create reserved", "POST", "/admin/organizations", rootAll, map[string]any{"login": "settings", "admin": "alice"}, 422, nil},
		{"alice repos", "GET", "/users/alice/repos", alicePub, nil, 200, nil},
	}
	e := f.env
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := e.do(t, c.method, Prefix+c.path, c.auth, c.body)
			if w.Code != c.status {
				t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, w.Code, c.status, w.Body)
			}
			if c.status == 200 && strings.HasPrefix(w.Body.String(), "[") {
				got := logins(t, w.Body.Bytes())
				slices.Sort(got)
				if !slices.Equal(got, c.list) {
					t.Errorf("listed %q, want %q", got, c.list)
				}
			}
			if c.status >= 400 {
				expectError(t, w, c.status, "")
			}
		})
	}
}

// TestOrgChanges drives the changing routes end to end and checks each
// change through the API's own reads.
func TestOrgChanges(t *testing.T) {
	f := newOrgFixture(t)
	e := f.env
	aliceAll := "token " + e.token(t, e.alice, "all", userScopes(allScopes())...)
	bobWrite := "token " + e.token(t, e.bob, "w", "repo", "write:org")
	carolOrg := "token " + e.token(t, f.carol, "c", "repo", "read:org")
	must := func(method, path, auth string, body any, status int) []byte {
		t.Helper()
		w := e.do(t, method, Prefix+path, auth, body)
		if w.Code != status {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, w.Code, status, w.Body)
		}
		return w.Body.Bytes()
	}
	perm := func(auth, repo string) (status int, push bool) {
		t.Helper()
		w := e.do(t, "GET", Prefix+"/repos/"+repo, auth, nil)
		if w.Code != 200 {
			return w.Code, false
		}
		r := decodeBody[struct {
			Owner       struct{ Type string } `json:"owner"`
			Permissions permissions           `json:"permissions"`
		}](t, w)
		if r.Owner.Type != "Organization" {
			t.Errorf("owner type %q", r.Owner.Type)
		}
		return 200, r.Permissions.Push
	}

	// Base permission: carol (a member in no team granted vault) reads it
	// with read, pushes with write, loses it with none.
	if s, push := perm(carolOrg, "acme/vault"); s != 200 || push {
		t.Fatalf("carol on vault with base read: %d push=%v", s, push)
	}
	must("PATCH", "/orgs/acme", aliceAll, map[string]any{"default_repository_permission": "write"}, 200)
	if s, push := perm(carolOrg, "acme/vault"); s != 200 || !push {
		t.Fatalf("carol on vault with base write: %d push=%v", s, push)
	}
	must("PATCH", "/orgs/acme", aliceAll, map[string]any{"default_repository_permission": "none"}, 200)
	if s, _ := perm(carolOrg, "acme/vault"); s != 404 {
		t.Fatalf("carol on vault with base none: %d, want 404", s)
	}
	var org struct {
		DefaultRepositoryPermission string `json:"default_repository_permission"`
	}
	if err := json.Unmarshal(must("GET", "/orgs/acme", aliceAll, nil, 200), &org); err != nil || org.DefaultRepositoryPermission != "none" {
		t.Fatalf("base permission after PATCH: %+v %v", org, err)
	}

	// A team grant: carol joins devs (granted push on tools), then vault is
	// granted to devs with pull.
	if s, _ := perm(carolOrg, "acme/tools"); s != 404 {
		t.Fatalf("carol on tools before joining devs: %d", s)
	}
	must("PUT", "/orgs/acme/teams/devs/memberships/carol", aliceAll, map[string]any{"role": "member"}, 200)
	if s, push := perm(carolOrg, "acme/tools"); s != 200 || !push {
		t.Fatalf("carol on tools in devs: %d push=%v", s, push)
	}
	must("PUT", "/orgs/acme/teams/devs/repos/acme/vault", aliceAll, map[string]any{"permission": "pull"}, 204)
	if s, push := perm(carolOrg, "acme/vault"); s != 200 || push {
		t.Fatalf("carol on vault granted pull: %d push=%v", s, push)
	}
	// Removal takes effect on the next request.
	must("DELETE", "/orgs/acme/teams/devs/memberships/carol", aliceAll, nil, 204)
	if s, _ := perm(carolOrg, "acme/tools"); s != 404 {
		t.Fatalf("carol on tools after leaving devs: %d", s)
	}

	// A maintainer manages the team's members, but cannot add outsiders.
	must("PUT", "/orgs/acme/teams/devs/memberships/bob", aliceAll, map[string]any{"role": "maintainer"}, 200)
	must("PUT", "/orgs/acme/teams/devs/memberships/carol", bobWrite, nil, 200)
	w := e.do(t, "PUT", Prefix+"/orgs/acme/teams/devs/memberships/root", bobWrite, nil)
	expectError(t, w, http.StatusUnprocessableEntity, "Validation Failed")
	// An owner adding an outsider to a team adds them to the organization.
	must("PUT", "/orgs/acme/teams/devs/memberships/root", aliceAll, nil, 200)
	must("GET", "/orgs/acme/memberships/root", aliceAll, nil, 200)

	// Renaming a team changes its slug; deleting it ends its grants.
	must("PATCH", "/orgs/acme/teams/devs", aliceAll, map[string]any{"name": "Developers"}, 200)
	must("GET", "/orgs/acme/teams/developers", aliceAll, nil, 200)
	must("GET", "/orgs/acme/teams/devs", aliceAll, nil, 404)
	must("DELETE", "/orgs/acme/teams/developers", aliceAll, nil, 204)
	if s, _ := perm(carolOrg, "acme/tools"); s != 404 {
		t.Fatalf("carol on tools after the team was deleted: %d", s)
	}

	// Owners: a second owner lets the first step down; the last one stays.
	must("PUT", "/orgs/acme/memberships/bob", aliceAll, map[string]any{"role": "admin"}, 200)
	must("PUT", "/orgs/acme/memberships/alice", bobWrite, map[string]any{"role": "member"}, 200)
	w = e.do(t, "PUT", Prefix+"/orgs/acme/memberships/bob", bobWrite, map[string]any{"role": "member"})
	expectError(t, w, http.StatusUnprocessableEntity, "Validation Failed")
	// A member leaves on their own.
	carolWrite := "token " + e.token(t, f.carol, "cw", "write:org")
	must("DELETE", "/orgs/acme/memberships/carol", carolWrite, nil, 204)
	must("GET", "/orgs/acme/memberships/carol", bobWrite, nil, 404)

	// A repository in the organization: created by an owner, listed, with
	// the creator's permissions as the organization grants them.
	body := must("POST", "/orgs/acme/repos", bobWrite, map[string]any{"name": "made", "private": true, "auto_init": true}, 201)
	var made struct {
		FullName string `json:"full_name"`
		Owner    struct {
			Login, Type string
		} `json:"owner"`
		Permissions permissions `json:"permissions"`
	}
	if err := json.Unmarshal(body, &made); err != nil || made.FullName != "acme/made" || made.Owner.Type != "Organization" || !made.Permissions.Admin {
		t.Fatalf("created %s (%v)", body, err)
	}
	if got := logins(t, must("GET", "/orgs/acme/repos?type=private", bobWrite, nil, 200)); !slices.Contains(got, "acme/made") {
		t.Errorf("new repository not listed: %v", got)
	}
	// The audit log has the changes.
	log, _, err := e.svc.AuditLog(context.Background(), system, 0, gatehouse.Page{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[gatehouse.AuditAction]bool{}
	for _, ev := range log {
		seen[ev.Action] = true
	}
	for _, a := range []gatehouse.AuditAction{gatehouse.AuditOrgBasePermission, gatehouse.AuditTeamAddMember, gatehouse.AuditTeamRemoveMember,
		gatehouse.AuditTeamAddRepository, gatehouse.AuditTeamDestroy, gatehouse.AuditOrgUpdateMember, gatehouse.AuditOrgRemoveMember} {
		if !seen[a] {
			t.Errorf("no %s event in the audit log", a)
		}
	}
}

// TestOrgPrivateMode: anonymous callers are asked to sign in for
// organizations too.
func TestOrgPrivateMode(t *testing.T) {
	e := newEnv(t, envOptions{privateMode: true})
	e.org(t, "acme", e.alice)
	for _, path := range []string{"/orgs/acme", "/orgs/acme/members", "/orgs/acme/repos", "/users/acme"} {
		w := e.do(t, "GET", Prefix+path, "", nil)
		expectError(t, w, http.StatusUnauthorized, msgRequiresAuth)
	}
}
