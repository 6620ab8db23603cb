package service

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// orgFixture is an organization acme owned by olive, with member mia, an
// outsider otto, a site admin root, and acme/private and acme/public.
type orgFixture struct {
	s                      *Service
	olive, mia, otto, root *gatehouse.User
	org                    *gatehouse.User
	private, public        *gatehouse.Repo
}

func newOrgFixture(t *testing.T) *orgFixture {
	t.Helper()
	ctx := context.Background()
	s, _ := newService(t)
	f := &orgFixture{s: s}
	f.olive = mustUser(t, s, NewUser{Login: "olive", Email: "olive@example.com"})
	f.mia = mustUser(t, s, NewUser{Login: "mia", Email: "mia@example.com"})
	f.otto = mustUser(t, s, NewUser{Login: "otto", Email: "otto@example.com"})
	f.root = mustUser(t, s, NewUser{Login: "root", Email: "root@example.com", SiteAdmin: true})
	var err error
	if f.org, err = s.CreateOrg(ctx, session(f.olive, "192.0.2.1"), NewOrg{Login: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetMembership(ctx, session(f.olive, "192.0.2.1"), f.org, "mia", gatehouse.OrgMember); err != nil {
		t.Fatal(err)
	}
	if f.private, err = s.CreateRepo(ctx, session(f.olive, ""), NewRepo{Owner: "acme", Name: "private", Private: true}); err != nil {
		t.Fatal(err)
	}
	if f.public, err = s.CreateRepo(ctx, session(f.mia, ""), NewRepo{Owner: "acme", Name: "public"}); err != nil {
		t.Fatalf("a member creates an organization repository: %v", err)
	}
	return f
}

func tokenActor(u *gatehouse.User, scopes ...string) *gatehouse.Actor {
	return &gatehouse.Actor{User: u, Token: &gatehouse.Token{ID: 1000 + u.ID, UserID: u.ID, Scopes: scopes}}
}

// access returns the kind of Repo's answer ("ok" when allowed).
func (f *orgFixture) access(t *testing.T, actor *gatehouse.Actor, repo *gatehouse.Repo, action authz.Action) string {
	t.Helper()
	_, _, err := f.s.Repo(context.Background(), actor, repo.Owner, repo.Name, action)
	if err == nil {
		return "ok"
	}
	if k := gatehouse.ErrorKind(err); k != gatehouse.Internal {
		return k.String()
	}
	t.Fatal(err)
	return ""
}

// TestOrgPermissionResolution drives §9's rule through the service for
// each path to access: owner, member by base permission, team grant,
// collaborator, outsider, site admin, suspended; then a change (team
// removal, base permission) takes effect on the very next request.
func TestOrgPermissionResolution(t *testing.T) {
	ctx := context.Background()
	f := newOrgFixture(t)
	s := f.s
	owner := session(f.olive, "")
	repo := func(u *gatehouse.User) *gatehouse.Actor { return tokenActor(u, "repo", "read:org") }

	want := func(name string, actor *gatehouse.Actor, r *gatehouse.Repo, action authz.Action, kind string) {
		t.Helper()
		if got := f.access(t, actor, r, action); got != kind {
			t.Errorf("%s: %s on %s = %s, want %s", name, action, r.FullName(), got, kind)
		}
	}
	want("owner", repo(f.olive), f.private, authz.Admin, "ok")
	want("member by base read", repo(f.mia), f.private, authz.Read, "ok")
	want("member cannot push with base read", repo(f.mia), f.private, authz.Write, "forbidden")
	want("member token without repo", tokenActor(f.mia, "read:org"), f.private, authz.Read, "not found")
	want("outsider", repo(f.otto), f.private, authz.Read, "not found")
	want("outsider reads public", repo(f.otto), f.public, authz.Read, "ok")
	want("site admin", repo(f.root), f.private, authz.Read, "not found")

	team, err := s.CreateTeam(ctx, owner, f.org, TeamChange{Name: ptr("Core Devs")})
	if err != nil {
		t.Fatal(err)
	}
	if team.Slug != "core-devs" {
		t.Fatalf("slug %q", team.Slug)
	}
	if err := s.SetTeamRepo(ctx, owner, f.org, team.Slug, "acme", "private", gatehouse.PermWrite); err != nil {
		t.Fatal(err)
	}
	// Adding an outsider to a team makes them a member, as on GitHub.
	if _, err := s.SetTeamMembership(ctx, owner, f.org, team.Slug, "otto", gatehouse.TeamMember); err != nil {
		t.Fatal(err)
	}
	want("team push", repo(f.otto), f.private, authz.Write, "ok")
	want("team push is not admin", repo(f.otto), f.private, authz.Admin, "forbidden")

	if err := s.RemoveTeamMember(ctx, owner, f.org, team.Slug, "otto"); err != nil {
		t.Fatal(err)
	}
	want("removed from the team: base read only, at once", repo(f.otto), f.private, authz.Write, "forbidden")

	none := gatehouse.PermNone
	if err := s.UpdateOrg(ctx, owner, f.org, OrgChange{BasePermission: &none}); err != nil {
		t.Fatal(err)
	}
	want("base none", repo(f.mia), f.private, authz.Read, "not found")
	if _, err := s.SetCollaborator(ctx, owner, f.private, "mia", gatehouse.PermRead); err != nil {
		t.Fatal(err)
	}
	want("collaborator", repo(f.mia), f.private, authz.Read, "ok")

	if _, err := s.SetSuspended(ctx, system, f.olive.ID, true); err != nil {
		t.Fatal(err)
	}
	suspended, _ := s.store.FindUserByID(ctx, f.olive.ID)
	want("suspended owner", repo(suspended), f.private, authz.Read, "forbidden")
}

// TestOrgMembershipRules checks who may manage an organization and that
// one owner always remains.
func TestOrgMembershipRules(t *testing.T) {
	ctx := context.Background()
	f := newOrgFixture(t)
	s := f.s
	owner := session(f.olive, "")

	if _, err := s.CreateOrg(ctx, session(f.mia, ""), NewOrg{Login: "OLIVE"}); !gatehouse.IsKind(err, gatehouse.Conflict) {
		t.Fatalf("an organization named like a user: %v", err)
	}
	if _, err := s.CreateOrg(ctx, tokenActor(f.mia, "admin:org"), NewOrg{Login: "viatoken"}); !gatehouse.IsKind(err, gatehouse.Forbidden) {
		t.Fatalf("a token creating an organization: %v", err)
	}
	if _, err := s.SetMembership(ctx, session(f.mia, ""), f.org, "otto", gatehouse.OrgMember); !gatehouse.IsKind(err, gatehouse.Forbidden) {
		t.Fatalf("a member adding members: %v", err)
	}
	if _, err := s.SetMembership(ctx, session(f.otto, ""), f.org, "otto", gatehouse.OrgOwner); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("an outsider promoting themselves: %v", err)
	}
	if _, err := s.SetMembership(ctx, session(f.root, ""), f.org, "otto", gatehouse.OrgMember); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("a site admin gains nothing implicitly: %v", err)
	}
	if _, err := s.SetMembership(ctx, tokenActor(f.olive, "read:org"), f.org, "otto", gatehouse.OrgMember); !gatehouse.IsKind(err, gatehouse.Forbidden) {
		t.Fatalf("read:org adding a member: %v", err)
	}
	if _, err := s.SetMembership(ctx, owner, f.org, "olive", gatehouse.OrgMember); !gatehouse.IsKind(err, gatehouse.Invalid) {
		t.Fatalf("demoting the last owner: %v", err)
	}
	if err := s.RemoveMember(ctx, owner, f.org, "olive"); !gatehouse.IsKind(err, gatehouse.Invalid) {
		t.Fatalf("the last owner leaving: %v", err)
	}
	if _, err := s.SetMembership(ctx, tokenActor(f.olive, "write:org"), f.org, "mia", gatehouse.OrgOwner); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveMember(ctx, owner, f.org, "olive"); err != nil {
		t.Fatalf("an owner leaving when another remains: %v", err)
	}
	if err := s.RemoveMember(ctx, session(f.mia, ""), f.org, "mia"); !gatehouse.IsKind(err, gatehouse.Invalid) {
		t.Fatalf("the new last owner leaving: %v", err)
	}

	members, err := s.ListMembers(ctx, session(f.otto, ""), f.org, "", gatehouse.Page{})
	if err != nil || len(members) != 0 {
		t.Fatalf("an outsider lists members: %v, %v", members, err)
	}
	members, err = s.ListMembers(ctx, session(f.mia, ""), f.org, "", gatehouse.Page{})
	if err != nil || len(members) != 1 || members[0].User.Login != "mia" || members[0].Role != gatehouse.OrgOwner {
		t.Fatalf("members: %+v, %v", members, err)
	}

	// Every change was recorded under its actor.
	events, _, err := s.AuditLog(ctx, system, 0, gatehouse.Page{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[gatehouse.AuditAction]int{}
	for _, e := range events {
		seen[e.Action]++
	}
	for _, a := range []gatehouse.AuditAction{gatehouse.AuditOrgCreate, gatehouse.AuditOrgAddMember, gatehouse.AuditOrgUpdateMember, gatehouse.AuditOrgRemoveMember} {
		if seen[a] == 0 {
			t.Errorf("no %s event in %v", a, seen)
		}
	}
}

// TestTeamsAndRepos checks teams' visibility, grants limited to the
// organization's repositories, the type filter of the organization's
// repository list, and the audit events of team changes.
func TestTeamsAndRepos(t *testing.T) {
	ctx := context.Background()
	f := newOrgFixture(t)
	s := f.s
	owner := session(f.olive, "")
	secret := "secret"
	if _, err := s.CreateTeam(ctx, owner, f.org, TeamChange{Name: ptr("Hidden"), Privacy: &secret}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTeam(ctx, owner, f.org, TeamChange{Name: ptr("Open")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTeam(ctx, owner, f.org, TeamChange{Name: ptr("open")}); !gatehouse.IsKind(err, gatehouse.Conflict) {
		t.Fatalf("a second team with the same slug: %v", err)
	}
	if _, err := s.CreateTeam(ctx, session(f.mia, ""), f.org, TeamChange{Name: ptr("Mine")}); !gatehouse.IsKind(err, gatehouse.Forbidden) {
		t.Fatalf("a member creating a team: %v", err)
	}
	teams, err := s.ListTeams(ctx, session(f.mia, ""), f.org, gatehouse.Page{})
	if err != nil || len(teams) != 1 || teams[0].Slug != "open" {
		t.Fatalf("a member sees the closed team only: %+v, %v", teams, err)
	}
	if _, err := s.Team(ctx, session(f.mia, ""), f.org, "hidden"); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("a member finding a secret team: %v", err)
	}
	if teams, _ := s.ListTeams(ctx, session(f.otto, ""), f.org, gatehouse.Page{}); len(teams) != 0 {
		t.Fatalf("an outsider sees teams: %+v", teams)
	}
	if teams, _ := s.ListTeams(ctx, owner, f.org, gatehouse.Page{}); len(teams) != 2 {
		t.Fatalf("the owner sees both teams: %+v", teams)
	}

	mine, err := s.CreateRepo(ctx, session(f.mia, ""), NewRepo{Owner: "mia", Name: "own"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetTeamRepo(ctx, owner, f.org, "open", "mia", mine.Name, gatehouse.PermRead); !gatehouse.IsKind(err, gatehouse.Invalid) {
		t.Fatalf("granting a team another owner's repository: %v", err)
	}
	if err := s.SetTeamRepo(ctx, owner, f.org, "open", "acme", "public", gatehouse.PermWrite); err != nil {
		t.Fatal(err)
	}
	grants, err := s.ListTeamRepos(ctx, owner, f.org, "open", gatehouse.Page{})
	if err != nil || len(grants) != 1 || grants[0].Permission != gatehouse.PermWrite {
		t.Fatalf("team repos: %+v, %v", grants, err)
	}

	for typ, want := range map[string]int{"all": 2, "public": 1, "private": 1, "forks": 0} {
		repos, err := s.ListOrgRepos(ctx, session(f.mia, ""), f.org, typ, gatehouse.Page{})
		if err != nil || len(repos) != want {
			t.Errorf("type=%s: %d repositories, %v; want %d", typ, len(repos), err, want)
		}
	}
	if repos, _ := s.ListOrgRepos(ctx, session(f.otto, ""), f.org, "all", gatehouse.Page{}); len(repos) != 1 {
		t.Errorf("an outsider lists %d repositories, want the public one", len(repos))
	}
	if repos, _ := s.ListOrgRepos(ctx, session(f.root, ""), f.org, "all", gatehouse.Page{}); len(repos) != 1 {
		t.Errorf("a site admin lists %d repositories, want the public one", len(repos))
	}
	if err := s.DeleteTeam(ctx, owner, f.org, "open"); err != nil {
		t.Fatal(err)
	}
	events, _, _ := s.AuditLog(ctx, system, 0, gatehouse.Page{PerPage: 100})
	seen := map[gatehouse.AuditAction]bool{}
	for _, e := range events {
		seen[e.Action] = true
	}
	for _, a := range []gatehouse.AuditAction{gatehouse.AuditTeamCreate, gatehouse.AuditTeamAddRepository, gatehouse.AuditTeamDestroy} {
		if !seen[a] {
			t.Errorf("no %s event", a)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestMemberAdministersWhatTheyCreate checks GitHub's rule that a member
// who creates an organization's repository administers it, even when the
// base permission is none.
func TestMemberAdministersWhatTheyCreate(t *testing.T) {
	ctx := context.Background()
	f := newOrgFixture(t)
	none := gatehouse.PermNone
	if err := f.s.UpdateOrg(ctx, session(f.olive, ""), f.org, OrgChange{BasePermission: &none}); err != nil {
		t.Fatal(err)
	}
	r, err := f.s.CreateRepo(ctx, tokenActor(f.mia, "repo"), NewRepo{Owner: "acme", Name: "mine", Private: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.access(t, tokenActor(f.mia, "repo"), r, authz.Admin); got != "ok" {
		t.Fatalf("the creating member administers the repository: %s", got)
	}
	if got := f.access(t, tokenActor(f.otto, "repo"), r, authz.Read); got != "not found" {
		t.Fatalf("an outsider: %s", got)
	}
	if _, err := f.s.CreateRepo(ctx, tokenActor(f.otto, "repo"), NewRepo{Owner: "acme", Name: "x"}); gatehouse.ErrorMessage(err) != "You must be a member of acme to create its repositories." {
		t.Fatalf("an outsider creating: %v", err)
	}
}
