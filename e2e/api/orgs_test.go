package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v89/github"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestGHOrganization runs the GitHub CLI as a member of an organization
// (not an owner) with a repo,read:org token: create a private repository
// in the organization (GraphQL createRepository with the organization's
// node id, and REST POST /orgs/{org}/repos when a README is asked for),
// view it, clone it, list the organization's repositories and teams. An
// outsider's gh is told the private repository does not exist.
func TestGHOrganization(t *testing.T) {
	gh := testenv.RequireOneOf(t, "gh", "apt-get install -y gh", "gh")
	testenv.RequireOneOf(t, "git", "apt-get install -y git", "git")
	s := startServer(t)
	s.CreateUser("bob", false)
	s.CreateUser("carol", false)
	admin := s.Token("alice", "admin", "site_admin,admin:org,repo", "7d")
	createOrg(t, s, "acme", "alice", admin)
	c := s.Client(t)
	api := s.URL + "/api/v3"
	if code, _, body := call(t, c, "PUT", api+"/orgs/acme/memberships/bob", admin, `{"role":"member"}`); code != 200 || !strings.Contains(body, `"state":"active"`) {
		t.Fatalf("adding bob to acme: %d %s", code, body)
	}
	if code, _, body := call(t, c, "POST", api+"/orgs/acme/teams", admin, `{"name":"Devs","privacy":"closed","description":"the developers"}`); code != 201 {
		t.Fatalf("creating a team: %d %s", code, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bob := newGH(t, ctx, s, gh, s.Token("bob", "gh", "repo,read:org", "30d"))

	// gh repo create ORG/NAME: GET /users/acme for the owner's node id and
	// type, then createRepository with ownerId.
	if out := bob.run("repo", "create", "acme/demo", "--private"); !strings.Contains(out, "/acme/demo") {
		t.Errorf("repo create acme/demo: %q", out)
	}
	if out := bob.run("api", "repos/acme/demo", "--jq", ".private, .owner.type, .owner.login"); strings.Fields(out)[0] != "true" ||
		!strings.Contains(out, "Organization") || !strings.Contains(out, "acme") {
		t.Errorf("acme/demo as the API shows it: %q", out)
	}
	// With a README gh goes through POST /orgs/acme/repos.
	bob.run("repo", "create", "acme/docs", "--private", "--add-readme", "--description", "the docs")
	out := bob.run("repo", "view", "acme/demo")
	if !strings.Contains(out, "name:\tacme/demo") {
		t.Errorf("repo view acme/demo:\n%s", out)
	}
	if out := bob.run("repo", "view", "acme/docs"); !strings.Contains(out, "name:\tacme/docs") || !strings.Contains(out, "# docs") {
		t.Errorf("repo view acme/docs:\n%s", out)
	}
	bob.run("repo", "clone", "acme/demo")
	if _, err := os.Stat(filepath.Join(bob.work, "demo", ".git")); err != nil {
		t.Errorf("gh repo clone acme/demo made no clone: %v", err)
	}
	bob.run("repo", "clone", "acme/docs")
	if b, err := os.ReadFile(filepath.Join(bob.work, "docs", "README.md")); err != nil || !strings.HasPrefix(string(b), "# docs") {
		t.Errorf("clone of acme/docs: README %q, %v", b, err)
	}
	// gh repo list ORG asks GraphQL repositoryOwner(login:).
	if out := bob.run("repo", "list", "acme"); !strings.Contains(out, "acme/demo") || !strings.Contains(out, "acme/docs") {
		t.Errorf("repo list acme:\n%s", out)
	}
	var teams []struct{ Slug, Name, Privacy string }
	if err := json.Unmarshal([]byte(bob.run("api", "orgs/acme/teams")), &teams); err != nil || len(teams) != 1 || teams[0].Slug != "devs" || teams[0].Privacy != "closed" {
		t.Errorf("api orgs/acme/teams: %+v %v", teams, err)
	}
	if out := bob.run("api", "user/orgs", "--jq", ".[].login"); strings.TrimSpace(out) != "acme" {
		t.Errorf("api user/orgs: %q", out)
	}

	// An outsider with the same scopes: the private repository does not
	// exist for them, and the organization's teams are concealed.
	carol := newGH(t, ctx, s, gh, s.Token("carol", "gh", "repo,read:org", "30d"))
	out = carol.fail("repo", "view", "acme/demo")
	if !strings.Contains(out, "Could not resolve to a Repository with the name 'acme/demo'.") {
		t.Errorf("outsider's repo view acme/demo:\n%s", out)
	}
	out = carol.fail("repo", "clone", "acme/demo")
	if !strings.Contains(out, "Could not resolve to a Repository with the name 'acme/demo'.") {
		t.Errorf("outsider's repo clone acme/demo:\n%s", out)
	}
	if out := carol.run("api", "orgs/acme/teams"); strings.TrimSpace(out) != "[]" {
		t.Errorf("outsider's api orgs/acme/teams: %q", out)
	}
	if out := carol.fail("repo", "create", "acme/mine", "--private"); !strings.Contains(out, "does not have the correct permissions to execute `CreateRepository`") {
		t.Errorf("outsider's repo create acme/mine:\n%s", out)
	}
	// A token without read:org (which gh auth login refuses, so it comes
	// from GH_ENTERPRISE_TOKEN) gets 404, and gh reads the scopes the
	// route accepts from X-Accepted-OAuth-Scopes to suggest one (the first
	// it lacks, admin:org, as with GitHub's own header).
	noOrg := *bob
	noOrg.env = append(append([]string{}, bob.env...), "GH_ENTERPRISE_TOKEN="+s.Token("bob", "gh-no-org", "repo", "30d"))
	out = noOrg.fail("api", "orgs/acme/teams")
	if !strings.Contains(out, "HTTP 404") || !strings.Contains(out, `:org" scope`) {
		t.Errorf("api orgs/acme/teams without read:org:\n%s", out)
	}
}

// TestGoGitHubOrganizations uses go-github's organization and team
// services as an owner's automation would, and checks the effect of
// each change on a member's access.
func TestGoGitHubOrganizations(t *testing.T) {
	s := startServer(t)
	s.CreateUser("bob", false)
	hc := s.Client(t)
	hc.Timeout = 30 * time.Second
	client := func(tok string) *github.Client {
		c, err := github.NewClient(github.WithHTTPClient(hc), github.WithAuthToken(tok), github.WithEnterpriseURLs(s.base, s.base))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	alice := client(s.Token("alice", "go-github", "site_admin,admin:org,repo,user", "30d"))
	bob := client(s.Token("bob", "go-github", "repo,read:org", "30d"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var er *github.ErrorResponse

	// GHES's admin API creates the organization.
	org, resp, err := alice.Admin.CreateOrg(ctx, &github.Organization{Login: github.Ptr("acme")}, "alice")
	if err != nil || resp.StatusCode != http.StatusCreated || org.GetLogin() != "acme" || org.GetNodeID() == "" {
		t.Fatalf("Admin.CreateOrg: %+v %v", org, err)
	}

	// Get and Edit.
	org, _, err = alice.Organizations.Get(ctx, "acme")
	if err != nil || org.GetType() != "Organization" || org.GetDefaultRepoPermission() != "read" || !org.GetMembersCanCreateRepos() {
		t.Fatalf("Organizations.Get: %+v %v", org, err)
	}
	org, _, err = alice.Organizations.Edit(ctx, "acme", &github.Organization{
		Name: github.Ptr("Acme Corporation"), Description: github.Ptr("Everything"), Email: github.Ptr("info@acme.example"),
		DefaultRepoPermission: github.Ptr("none"),
	})
	if err != nil || org.GetName() != "Acme Corporation" || org.GetDescription() != "Everything" || org.GetEmail() != "info@acme.example" ||
		org.GetDefaultRepoPermission() != "none" || org.GetBillingEmail() != "info@acme.example" {
		t.Fatalf("Organizations.Edit: %+v %v", org, err)
	}
	_, _, err = alice.Organizations.Edit(ctx, "acme", &github.Organization{DefaultRepoPermission: github.Ptr("everything")})
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusUnprocessableEntity || len(er.Errors) != 1 || er.Errors[0].Field != "default_repository_permission" {
		t.Errorf("Edit with a bad permission: %v", err)
	}
	// Users.Get on the organization's login answers the organization.
	if u, _, err := bob.Users.Get(ctx, "acme"); err != nil || u.GetType() != "Organization" || u.GetNodeID() != org.GetNodeID() {
		t.Errorf("Users.Get(acme): %+v %v", u, err)
	}

	// Memberships.
	m, _, err := alice.Organizations.EditOrgMembership(ctx, "bob", "acme", &github.Membership{Role: github.Ptr("member")})
	if err != nil || m.GetState() != "active" || m.GetRole() != "member" || m.GetUser().GetLogin() != "bob" || m.GetOrganization().GetLogin() != "acme" {
		t.Fatalf("EditOrgMembership: %+v %v", m, err)
	}
	members, _, err := bob.Organizations.ListMembers(ctx, "acme", &github.ListMembersOptions{Role: "all"})
	if err != nil || logins(members) != "alice,bob" {
		t.Errorf("ListMembers: %v %v", logins(members), err)
	}
	admins, _, err := bob.Organizations.ListMembers(ctx, "acme", &github.ListMembersOptions{Role: "admin"})
	if err != nil || logins(admins) != "alice" {
		t.Errorf("ListMembers(admin): %v %v", logins(admins), err)
	}
	mine, _, err := bob.Organizations.ListOrgMemberships(ctx, nil)
	if err != nil || len(mine) != 1 || mine[0].GetOrganization().GetLogin() != "acme" || mine[0].GetState() != "active" {
		t.Errorf("ListOrgMemberships: %+v %v", mine, err)
	}
	if orgs, _, err := bob.Organizations.List(ctx, "", nil); err != nil || len(orgs) != 1 || orgs[0].GetLogin() != "acme" {
		t.Errorf("Organizations.List: %+v %v", orgs, err)
	}
	// The last owner cannot step down.
	_, _, err = alice.Organizations.EditOrgMembership(ctx, "alice", "acme", &github.Membership{Role: github.Ptr("member")})
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("demoting the last owner: %v", err)
	}

	// Teams and their repositories.
	team, resp, err := alice.Teams.CreateTeam(ctx, "acme", github.NewTeam{Name: "Core Devs", Description: github.Ptr("the core"), Privacy: github.Ptr("closed")})
	if err != nil || resp.StatusCode != http.StatusCreated || team.GetSlug() != "core-devs" || team.GetPrivacy() != "closed" || team.GetOrganization().GetLogin() != "acme" {
		t.Fatalf("CreateTeam: %+v %v", team, err)
	}
	tm, _, err := alice.Teams.AddTeamMembershipBySlug(ctx, "acme", "core-devs", "bob", &github.TeamAddTeamMembershipOptions{Role: "member"})
	if err != nil || tm.GetRole() != "member" || tm.GetState() != "active" {
		t.Fatalf("AddTeamMembershipBySlug: %+v %v", tm, err)
	}
	lib, resp, err := alice.Repositories.Create(ctx, "acme", &github.Repository{Name: github.Ptr("lib"), Private: github.Ptr(true), AutoInit: github.Ptr(true)})
	if err != nil || resp.StatusCode != http.StatusCreated || lib.GetFullName() != "acme/lib" || lib.GetOwner().GetType() != "Organization" {
		t.Fatalf("Repositories.Create(acme): %+v %v", lib, err)
	}
	// Base permission none: bob cannot see lib before the team is granted.
	if _, resp, err := bob.Repositories.Get(ctx, "acme", "lib"); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("bob sees acme/lib before any grant: %v", err)
	}
	if resp, err := alice.Teams.AddTeamRepoBySlug(ctx, "acme", "core-devs", "acme", "lib", &github.TeamAddTeamRepoOptions{Permission: "push"}); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("AddTeamRepoBySlug: %v", err)
	}
	repos, _, err := bob.Teams.ListTeamReposBySlug(ctx, "acme", "core-devs", nil)
	if err != nil || len(repos) != 1 || repos[0].GetFullName() != "acme/lib" || !repos[0].GetPermissions().GetPush() || repos[0].GetPermissions().GetAdmin() || repos[0].GetRoleName() != "write" {
		t.Fatalf("ListTeamReposBySlug: %+v %v", repos, err)
	}
	if r, _, err := bob.Teams.IsTeamRepoBySlug(ctx, "acme", "core-devs", "acme", "lib"); err != nil || r.GetFullName() != "acme/lib" || !r.GetPermissions().GetPush() {
		t.Errorf("IsTeamRepoBySlug: %+v %v", r, err)
	}
	got, _, err := bob.Repositories.Get(ctx, "acme", "lib")
	if err != nil || !got.GetPermissions().GetPush() || got.GetPermissions().GetAdmin() || got.GetOwner().GetLogin() != "acme" {
		t.Fatalf("bob's view of acme/lib through the team: %+v %v", got, err)
	}
	if ts, _, err := bob.Teams.ListUserTeams(ctx, nil); err != nil || len(ts) != 1 || ts[0].GetSlug() != "core-devs" || ts[0].GetOrganization().GetLogin() != "acme" {
		t.Errorf("ListUserTeams: %+v %v", ts, err)
	}
	if ts, _, err := bob.Teams.ListTeams(ctx, "acme", nil); err != nil || len(ts) != 1 {
		t.Errorf("ListTeams: %+v %v", ts, err)
	}
	// A member cannot change the organization.
	_, _, err = bob.Organizations.Edit(ctx, "acme", &github.Organization{Name: github.Ptr("Bob's")})
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusNotFound {
		// bob's token has no admin:org: the route answers 404 first.
		t.Errorf("member's Edit: %v", err)
	}

	// Removing bob from the organization takes effect on the next call.
	if resp, err := alice.Organizations.RemoveOrgMembership(ctx, "bob", "acme"); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("RemoveOrgMembership: %v", err)
	}
	if _, resp, err := bob.Repositories.Get(ctx, "acme", "lib"); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob still sees acme/lib after leaving acme: %v", err)
	}
	members, _, err = alice.Organizations.ListMembers(ctx, "acme", nil)
	if err != nil || logins(members) != "alice" {
		t.Errorf("ListMembers after the removal: %v %v", logins(members), err)
	}
	if _, resp, err := alice.Organizations.GetOrgMembership(ctx, "bob", "acme"); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GetOrgMembership after the removal: %v", err)
	}
}

func logins(us []*github.User) string {
	var out []string
	for _, u := range us {
		out = append(out, u.GetLogin())
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}
