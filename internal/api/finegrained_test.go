package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/token"
)

// fgToken issues a fine-grained token of u for owner and returns its
// secret.
func (f *walkFixture) fgToken(t *testing.T, u *gatehouse.User, name, owner string, repos gatehouse.RepoAccess, names []string, perms token.Perms) string {
	t.Helper()
	it, err := f.svc.CreateFineGrainedToken(context.Background(), system, service.NewFineGrained{UserID: u.ID, Name: name, Owner: owner,
		Repos: repos, RepoNames: names, Permissions: perms, Expires: "30d"})
	if err != nil {
		t.Fatal(err)
	}
	return it.Secret
}

// everyPerm is every permission at its highest level that applies to a
// token whose resource owner is a user (account) or an organization.
func everyPerm(org bool) token.Perms {
	ps := token.Perms{}
	for _, info := range token.Permissions() {
		if info.Always || (org && info.Group == token.AccountPerms) || (!org && info.Group == token.OrganizationPerms) {
			continue
		}
		ps[info.Name] = info.Max
	}
	return ps
}

// TestRouteTableFineGrained walks every route with fine-grained tokens:
// one with every permission succeeds where a classic token with every
// scope does; one with no permission is refused with GitHub's 403 where
// the route declares a permission (so that switching the check off, in
// the pipeline or in the service, fails here); a token that does not
// select a private repository, or targets another owner, finds nothing;
// a deleted one is a bad credential; responses carry
// X-Accepted-GitHub-Permissions and no X-OAuth-Scopes. Then a classic
// token meets an organization that restricts classic tokens.
func TestRouteTableFineGrained(t *testing.T) {
	probe := New(Config{ExternalURL: testBase})
	for _, rt := range probe.routes {
		t.Run(rt.method+" "+rt.pattern, func(t *testing.T) {
			t.Parallel()
			f := newWalkFixture(t)
			rt := f.h.route(rt.method, rt.pattern)
			if rt.repo && rt.perm.Name == "" {
				t.Fatalf("repository route without a fine-grained permission")
			}
			orgRoute := strings.Contains(rt.pattern, "/orgs/{org}")
			target := "alice"
			if orgRoute {
				target = "acme"
			}
			path := f.path(rt, "priv", f.aliceKey.ID)
			// bob collaborates on priv too, for the collaborator routes.
			priv, _, err := f.svc.Repo(context.Background(), system, "alice", "priv", authz.Admin)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.SetCollaborator(context.Background(), system, priv, "bob", gatehouse.PermRead); err != nil {
				t.Fatal(err)
			}
			all := f.fgToken(t, f.alice, "fg-all", target, gatehouse.AllRepos, nil, everyPerm(orgRoute))
			none := f.fgToken(t, f.alice, "fg-none", target, gatehouse.AllRepos, nil, token.Perms{})
			refusedAlways := !rt.repo && rt.perm.Name == "" && len(rt.scopes) > 0

			check := func(name, tok string, wantRefused bool) {
				t.Helper()
				w := f.do(t, rt.method, path, "token "+tok, f.body(rt))
				if w.Header().Get("X-OAuth-Scopes") != "" || w.Header().Get("X-Accepted-OAuth-Scopes") != "" {
					t.Errorf("%s: scope headers on a fine-grained response: %v", name, w.Header())
				}
				if got := w.Header().Get("X-Accepted-GitHub-Permissions"); got != rt.perm.String() {
					t.Errorf("%s: X-Accepted-GitHub-Permissions %q, want %q", name, got, rt.perm.String())
				}
				if wantRefused {
					expectError(t, w, http.StatusForbidden, authz.MsgNotAccessible)
					return
				}
				if want := successStatus(rt); w.Code != want {
					t.Fatalf("%s: status %d, want %d: %s", name, w.Code, want, w.Body)
				}
			}
			// Without the permission first: a state change by the token
			// with every permission could remove what it needs.
			lacksIt := rt.perm.Name != "" && rt.perm != authz.MetadataRead
			check("no permissions", none, refusedAlways || lacksIt)
			if !lacksIt && !refusedAlways && rt.method != "GET" {
				return // the change was made; the fixture is spent
			}
			check("every permission", all, refusedAlways)

			if rt.repo {
				// Not selected, another owner: like a repository that
				// does not exist.
				onlyPub := f.fgToken(t, f.alice, "fg-pub", "alice", gatehouse.SelectedRepos, []string{"pub"}, everyPerm(false))
				w := f.do(t, rt.method, f.path(rt, "priv", 0), "token "+onlyPub, f.body(rt))
				expectError(t, w, http.StatusNotFound, msgNotFound)
				forAcme := f.fgToken(t, f.alice, "fg-acme", "acme", gatehouse.AllRepos, nil, everyPerm(true))
				w = f.do(t, rt.method, f.path(rt, "priv", 0), "token "+forAcme, f.body(rt))
				expectError(t, w, http.StatusNotFound, msgNotFound)
			}

			// A deleted fine-grained token is a bad credential at once.
			it, err := f.svc.CreateFineGrainedToken(context.Background(), system, service.NewFineGrained{UserID: f.alice.ID, Name: "fg-deleted",
				Owner: target, Repos: gatehouse.AllRepos, Permissions: everyPerm(orgRoute), Expires: "7d"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.DeleteToken(context.Background(), system, it.Token.ID); err != nil {
				t.Fatal(err)
			}
			w := f.do(t, rt.method, path, "token "+it.Secret, f.body(rt))
			expectError(t, w, http.StatusUnauthorized, msgBadCredentials)
		})
	}
}

// TestClassicTokensRestricted: an organization that restricts classic
// tokens refuses them on its repositories with a message that names it,
// while a fine-grained token for it works and its public repositories stay
// readable.
func TestClassicTokensRestricted(t *testing.T) {
	f := newWalkFixture(t)
	ctx := context.Background()
	org, err := f.svc.FindOrg(ctx, system, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "acme", Name: "site", Readme: true}); err != nil {
		t.Fatal(err)
	}
	classic := f.token(t, f.alice, "classic", "repo", "admin:org")
	fine := f.fgToken(t, f.alice, "fine", "acme", gatehouse.AllRepos, nil, token.Perms{"contents": token.ReadOnly})
	if w := f.do(t, "GET", Prefix+"/repos/acme/tools", "token "+classic, nil); w.Code != http.StatusOK {
		t.Fatalf("before the policy: %d %s", w.Code, w.Body)
	}
	p := gatehouse.DefaultTokenPolicy(org.ID)
	p.RestrictClassic = true
	if err := f.svc.SetOrgTokenPolicy(ctx, system, org, p); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/repos/acme/tools", "/repos/acme/tools/collaborators", "/orgs/acme/teams"} {
		w := f.do(t, "GET", Prefix+path, "token "+classic, nil)
		expectError(t, w, http.StatusForbidden, authz.MsgClassicRestricted("acme"))
	}
	if w := f.do(t, "GET", Prefix+"/repos/acme/site/readme", "token "+classic, nil); w.Code != http.StatusOK {
		t.Errorf("a public repository of a restricting organization: %d %s", w.Code, w.Body)
	}
	if w := f.do(t, "GET", Prefix+"/repos/acme/tools", "token "+fine, nil); w.Code != http.StatusOK {
		t.Errorf("fine-grained token under the policy: %d %s", w.Code, w.Body)
	}
	// Listings leave out what the policy refuses, and creating a
	// repository there is refused too.
	for _, path := range []string{"/orgs/acme/repos", "/user/repos"} {
		w := f.do(t, "GET", Prefix+path, "token "+classic, nil)
		if w.Code != http.StatusOK || strings.Contains(w.Body.String(), `"acme/tools"`) || (path == "/orgs/acme/repos" && !strings.Contains(w.Body.String(), `"acme/site"`)) {
			t.Errorf("%s under the policy: %d %s", path, w.Code, w.Body)
		}
	}
	w := f.do(t, "POST", GraphQLPath, "token "+classic, map[string]any{"query": `{organization(login:"acme"){repositories(first:50){nodes{nameWithOwner}}}}`})
	if strings.Contains(w.Body.String(), "acme/tools") {
		t.Errorf("GraphQL lists a private repository of a restricting organization: %s", w.Body)
	}
	w = f.do(t, "POST", Prefix+"/orgs/acme/repos", "token "+classic, map[string]any{"name": "sneaky", "private": true})
	expectError(t, w, http.StatusForbidden, authz.MsgClassicRestricted("acme"))
	if w := f.do(t, "GET", Prefix+"/user/orgs", "token "+classic, nil); strings.Contains(w.Body.String(), `"acme"`) {
		t.Errorf("/user/orgs lists the restricting organization to a classic token: %s", w.Body)
	}
	// A fine-grained token for alice's own account sees no team or
	// membership of acme.
	own := f.fgToken(t, f.alice, "own", "alice", gatehouse.PublicRepos, nil, token.Perms{})
	for _, path := range []string{"/user/teams", "/user/orgs", "/user/memberships/orgs"} {
		if w := f.do(t, "GET", Prefix+path, "token "+own, nil); w.Code != http.StatusOK || strings.Contains(w.Body.String(), "acme") {
			t.Errorf("%s with a token for another owner: %d %s", path, w.Code, w.Body)
		}
	}
	if w := f.do(t, "GET", Prefix+"/user/teams", "token "+fine, nil); w.Code != http.StatusOK || strings.Contains(w.Body.String(), "devs") {
		t.Errorf("/user/teams with a token for acme without members: read: %d %s", w.Code, w.Body)
	}

	// Elsewhere the classic token works as before.
	if w := f.do(t, "GET", Prefix+"/repos/alice/priv", "token "+classic, nil); w.Code != http.StatusOK {
		t.Errorf("a user's repository: %d %s", w.Code, w.Body)
	}
}

// TestGraphQLViewerFineGrained: the viewer's e-mail and organizations
// follow the same permissions as GET /user/emails and GET /user/orgs, for
// fine-grained tokens as for classic ones.
func TestGraphQLViewerFineGrained(t *testing.T) {
	f := newWalkFixture(t)
	const q = `{viewer{email organizations(first:10){nodes{login}}} repository(owner:"alice",name:"pub"){viewerDefaultCommitEmail}}`
	with := f.fgToken(t, f.alice, "with", "alice", gatehouse.PublicRepos, nil, token.Perms{"email_addresses": token.ReadOnly})
	without := f.fgToken(t, f.alice, "without", "alice", gatehouse.PublicRepos, nil, token.Perms{})
	_, body := f.gql(t, with, q, nil)
	if !strings.Contains(body, `"email":"`+f.alice.Email+`"`) || !strings.Contains(body, `"viewerDefaultCommitEmail":"`+f.alice.Email+`"`) {
		t.Errorf("with email_addresses: read: %s", body)
	}
	// A token for alice acts on none of her organizations; one for acme
	// lists acme (GET /user/orgs lists the same).
	if !strings.Contains(body, `"organizations":{"nodes":[]}`) {
		t.Errorf("a token for alice lists organizations: %s", body)
	}
	forAcme := f.fgToken(t, f.alice, "acme", "acme", gatehouse.PublicRepos, nil, token.Perms{})
	if _, body := f.gql(t, forAcme, q, nil); !strings.Contains(body, `"organizations":{"nodes":[{"login":"acme"}]}`) {
		t.Errorf("a token for acme: %s", body)
	}
	_, body = f.gql(t, without, q, nil)
	if strings.Contains(body, f.alice.Email) || !strings.Contains(body, `"email":""`) {
		t.Errorf("without email_addresses: %s", body)
	}
}
