package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// orgStore is a store that keeps organizations too, as the SQL adapters do.
type orgStore interface {
	gatehouse.Store
	gatehouse.OrgStore
}

// withOrgs adapts an organization test to Run's table.
func withOrgs(fn func(t *testing.T, s orgStore)) func(t *testing.T, s gatehouse.Store) {
	return func(t *testing.T, s gatehouse.Store) {
		both, ok := s.(orgStore)
		if !ok {
			t.Fatalf("%T does not implement gatehouse.OrgStore", s)
		}
		fn(t, both)
	}
}

func newOrg(t *testing.T, s orgStore, login string, owner *gatehouse.User) *gatehouse.User {
	t.Helper()
	o := &gatehouse.User{Login: login, Name: "Org " + login}
	must(t, s.CreateOrg(ctx(t), o, owner.ID))
	return o
}

func newTeam(t *testing.T, s orgStore, org *gatehouse.User, name string) *gatehouse.Team {
	t.Helper()
	tm := &gatehouse.Team{OrgID: org.ID, Name: name}
	must(t, s.CreateTeam(ctx(t), tm))
	return tm
}

func setMember(t *testing.T, s orgStore, org, u *gatehouse.User, role gatehouse.OrgRole) {
	t.Helper()
	must(t, s.SetMembership(ctx(t), org.ID, u.ID, role))
}

func memberNames(ms []gatehouse.Membership) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Org.Login+"/"+m.User.Login+":"+string(m.Role))
	}
	return out
}

func teamNames(ts []*gatehouse.Team) []string {
	out := []string{}
	for _, tm := range ts {
		out = append(out, tm.Org+"/"+tm.Slug)
	}
	return out
}

func testOrgs(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	before := time.Now().Add(-time.Second)
	org := &gatehouse.User{
		Login:       "Acme",
		Name:        "Acme Corp",
		Email:       "owner@example.com", // the owner's own address is fine
		Description: "We make everything",
	}
	must(t, s.CreateOrg(ctx(t), org, owner.ID))
	if org.ID == 0 || !org.IsOrg || org.CreatedAt.Before(before) || !org.UpdatedAt.Equal(org.CreatedAt) {
		t.Errorf("CreateOrg left ID %d, IsOrg %v, CreatedAt %v, UpdatedAt %v", org.ID, org.IsOrg, org.CreatedAt, org.UpdatedAt)
	}
	if org.BasePermission != gatehouse.PermRead {
		t.Errorf("BasePermission of a new organization = %v, want the default, read", org.BasePermission)
	}
	if org.Type() != "Organization" {
		t.Errorf("Type() = %q", org.Type())
	}

	got, err := s.FindUserByID(ctx(t), org.ID)
	must(t, err)
	sameUser(t, got, org)
	for _, login := range []string{"Acme", "acme", "ACME"} {
		got, err := s.FindUserByLogin(ctx(t), login)
		if err != nil {
			t.Errorf("FindUserByLogin(%q) of an organization: %v", login, err)
			continue
		}
		sameUser(t, got, org)
	}
	// A person's rows read back as people, without an organization's
	// base permission.
	got, err = s.FindUserByID(ctx(t), owner.ID)
	must(t, err)
	if got.IsOrg || got.BasePermission != gatehouse.PermNone || got.Type() != "User" {
		t.Errorf("the owner reads back as IsOrg %v, BasePermission %v", got.IsOrg, got.BasePermission)
	}

	role, err := s.Membership(ctx(t), org.ID, owner.ID)
	must(t, err)
	if role != gatehouse.OrgOwner {
		t.Errorf("creator's role = %q, want %q", role, gatehouse.OrgOwner)
	}
	n, err := s.CountOwners(ctx(t), org.ID)
	must(t, err)
	if n != 1 {
		t.Errorf("CountOwners = %d, want 1", n)
	}

	// Organizations are neither counted nor listed as users.
	newOrg(t, s, "beta", owner)
	n, err = s.CountUsers(ctx(t))
	must(t, err)
	if n != 1 {
		t.Errorf("CountUsers with two organizations and one person = %d, want 1", n)
	}
	users, err := s.ListUsers(ctx(t), gatehouse.Page{})
	must(t, err)
	if len(users) != 1 || users[0].ID != owner.ID {
		t.Errorf("ListUsers = %v, want only the person", users)
	}

	newOrg(t, s, "Zeta", owner)
	newOrg(t, s, "alpha", owner)
	orgs, err := s.ListOrgs(ctx(t), gatehouse.Page{})
	must(t, err)
	var logins []string
	for _, o := range orgs {
		logins = append(logins, o.Login)
		if !o.IsOrg {
			t.Errorf("ListOrgs returned %q without IsOrg", o.Login)
		}
	}
	if want := []string{"Acme", "alpha", "beta", "Zeta"}; !slices.Equal(logins, want) {
		t.Errorf("ListOrgs = %v, want %v", logins, want)
	}
	if len(orgs) > 0 {
		sameUser(t, orgs[0], org)
	}
	page2, err := s.ListOrgs(ctx(t), gatehouse.Page{Page: 2, PerPage: 3})
	must(t, err)
	if len(page2) != 1 || page2[0].Login != "Zeta" {
		t.Errorf("ListOrgs page 2 of 3 = %v", page2)
	}

	// Nobody signs in to an organization.
	wantKind(t, s.CreateOrg(ctx(t), &gatehouse.User{Login: "pw", PasswordHash: "$argon2id$x"}, owner.ID),
		gatehouse.Invalid, "CreateOrg with a password")
	wantKind(t, s.CreateOrg(ctx(t), &gatehouse.User{Login: "adm", SiteAdmin: true}, owner.ID),
		gatehouse.Invalid, "CreateOrg as a site administrator")
	wantKind(t, s.CreateOrg(ctx(t), &gatehouse.User{Login: "bad", BasePermission: 7}, owner.ID),
		gatehouse.Invalid, "CreateOrg with an unknown base permission")
	wantKind(t, s.CreateUser(ctx(t), &gatehouse.User{Login: "sneaky", IsOrg: true}),
		gatehouse.Invalid, "CreateUser with IsOrg")
	for _, login := range []string{"pw", "adm", "bad", "sneaky"} {
		_, err := s.FindUserByLogin(ctx(t), login)
		wantKind(t, err, gatehouse.NotFound, "account "+login+" after a refused create")
	}

	// An explicit base permission is kept.
	w := &gatehouse.User{Login: "writers", BasePermission: gatehouse.PermWrite}
	must(t, s.CreateOrg(ctx(t), w, owner.ID))
	got, err = s.FindUserByID(ctx(t), w.ID)
	must(t, err)
	if got.BasePermission != gatehouse.PermWrite {
		t.Errorf("BasePermission = %v, want write", got.BasePermission)
	}
}

func testOrgNamespace(t *testing.T, s orgStore) {
	alice := newUser(t, s, "alice")
	acme := newOrg(t, s, "Acme", alice)

	err := s.CreateOrg(ctx(t), &gatehouse.User{Login: "ALICE"}, alice.ID)
	wantKind(t, err, gatehouse.Conflict, "CreateOrg with a user's login differing in case")
	wantMsg(t, err, "login", "organization login taken by a user")
	err = s.CreateUser(ctx(t), &gatehouse.User{Login: "acme", Email: "acme@example.com"})
	wantKind(t, err, gatehouse.Conflict, "CreateUser with an organization's login differing in case")
	wantMsg(t, err, "login", "user login taken by an organization")
	err = s.CreateOrg(ctx(t), &gatehouse.User{Login: "aCmE"}, alice.ID)
	wantKind(t, err, gatehouse.Conflict, "CreateOrg twice")

	// Owners must be people who exist; nothing is left of a refused
	// organization.
	err = s.CreateOrg(ctx(t), &gatehouse.User{Login: "orphan"}, alice.ID+1000)
	wantKind(t, err, gatehouse.NotFound, "CreateOrg with a missing owner")
	err = s.CreateOrg(ctx(t), &gatehouse.User{Login: "nested"}, acme.ID)
	wantKind(t, err, gatehouse.NotFound, "CreateOrg owned by an organization")
	for _, login := range []string{"orphan", "nested"} {
		_, err := s.FindUserByLogin(ctx(t), login)
		wantKind(t, err, gatehouse.NotFound, "organization "+login+" after a refused create")
	}

	// An organization's contact email does not take the address from
	// people, nor collide with another organization's.
	o1 := &gatehouse.User{Login: "o1", Email: "Shared@Example.com"}
	must(t, s.CreateOrg(ctx(t), o1, alice.ID))
	o2 := &gatehouse.User{Login: "o2", Email: "shared@example.com"}
	must(t, s.CreateOrg(ctx(t), o2, alice.ID))
	must(t, s.CreateUser(ctx(t), &gatehouse.User{Login: "sharer", Email: "SHARED@example.com"}))
	got, err := s.FindUserByID(ctx(t), o1.ID)
	must(t, err)
	if got.Email != "Shared@Example.com" {
		t.Errorf("organization email = %q", got.Email)
	}

	// Repositories of organizations live in the same owner namespace.
	r := newRepo(t, s, acme, "Widget", true)
	found, err := s.FindRepo(ctx(t), "ACME", "widget")
	must(t, err)
	if found.ID != r.ID || found.Owner != "Acme" {
		t.Errorf("FindRepo of an organization's repository = %+v", found)
	}
}

func testUpdateOrg(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	org := newOrg(t, s, "acme", owner)
	created := org.CreatedAt
	time.Sleep(2 * ms)

	org.Name = "ACME Inc."
	org.Email = "owner@example.com"
	org.Description = "changed"
	org.BasePermission = gatehouse.PermNone
	must(t, s.UpdateOrg(ctx(t), org))
	if !org.UpdatedAt.After(created) {
		t.Errorf("UpdatedAt %v not after CreatedAt %v", org.UpdatedAt, created)
	}
	got, err := s.FindUserByID(ctx(t), org.ID)
	must(t, err)
	sameUser(t, got, org)
	wantTime(t, got.CreatedAt, created, "CreatedAt after UpdateOrg")

	org.BasePermission = gatehouse.PermAdmin
	must(t, s.UpdateOrg(ctx(t), org))
	got, err = s.FindUserByID(ctx(t), org.ID)
	must(t, err)
	if got.BasePermission != gatehouse.PermAdmin {
		t.Errorf("BasePermission = %v, want admin", got.BasePermission)
	}

	bad := *org
	bad.BasePermission = 4
	wantKind(t, s.UpdateOrg(ctx(t), &bad), gatehouse.Invalid, "UpdateOrg with an unknown base permission")
	person := *owner
	person.Description = "not an org"
	wantKind(t, s.UpdateOrg(ctx(t), &person), gatehouse.NotFound, "UpdateOrg of a person")
	wantKind(t, s.UpdateOrg(ctx(t), &gatehouse.User{ID: org.ID + 1000}), gatehouse.NotFound, "UpdateOrg of a missing organization")

	// UpdateUser turns nobody into an organization, and no organization
	// into something one can sign in to.
	owner.IsOrg = true
	must(t, s.UpdateUser(ctx(t), owner))
	got, err = s.FindUserByID(ctx(t), owner.ID)
	must(t, err)
	if got.IsOrg {
		t.Error("UpdateUser turned a person into an organization")
	}
	n, err := s.CountUsers(ctx(t))
	must(t, err)
	if n != 1 {
		t.Errorf("CountUsers after UpdateUser with IsOrg = %d, want 1", n)
	}
	orgRow, err := s.FindUserByID(ctx(t), org.ID)
	must(t, err)
	orgRow.PasswordHash = "$argon2id$x"
	wantKind(t, s.UpdateUser(ctx(t), orgRow), gatehouse.Invalid, "UpdateUser giving an organization a password")
	orgRow.PasswordHash = ""
	orgRow.SiteAdmin = true
	wantKind(t, s.UpdateUser(ctx(t), orgRow), gatehouse.Invalid, "UpdateUser making an organization a site administrator")
	orgRow.SiteAdmin = false
	orgRow.Suspended = true
	orgRow.IsOrg = false
	must(t, s.UpdateUser(ctx(t), orgRow))
	got, err = s.FindUserByID(ctx(t), org.ID)
	must(t, err)
	if !got.IsOrg || !got.Suspended || got.BasePermission != gatehouse.PermAdmin {
		t.Errorf("organization after UpdateUser = %+v, want still an organization, suspended", got)
	}
}

func testMemberships(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	bob := newUser(t, s, "Bob")
	amy := newUser(t, s, "amy")
	carl := newUser(t, s, "carl")
	acme := newOrg(t, s, "acme", owner)
	beta := newOrg(t, s, "Beta", owner)

	role, err := s.Membership(ctx(t), acme.ID, bob.ID)
	must(t, err)
	if role != "" {
		t.Errorf("Membership before joining = %q", role)
	}
	setMember(t, s, acme, bob, gatehouse.OrgMember)
	setMember(t, s, acme, amy, gatehouse.OrgOwner)
	setMember(t, s, acme, carl, gatehouse.OrgMember)
	setMember(t, s, beta, bob, gatehouse.OrgOwner)
	// Changing a role.
	setMember(t, s, acme, carl, gatehouse.OrgOwner)
	setMember(t, s, acme, carl, gatehouse.OrgMember)
	for _, c := range []struct {
		org, user *gatehouse.User
		want      gatehouse.OrgRole
	}{
		{acme, bob, gatehouse.OrgMember}, {acme, amy, gatehouse.OrgOwner}, {acme, carl, gatehouse.OrgMember},
		{beta, bob, gatehouse.OrgOwner}, {beta, amy, ""}, {acme, acme, ""},
	} {
		role, err := s.Membership(ctx(t), c.org.ID, c.user.ID)
		must(t, err)
		if role != c.want {
			t.Errorf("Membership(%s, %s) = %q, want %q", c.org.Login, c.user.Login, role, c.want)
		}
	}
	n, err := s.CountOwners(ctx(t), acme.ID)
	must(t, err)
	if n != 2 {
		t.Errorf("CountOwners = %d, want 2", n)
	}

	all, err := s.ListMembers(ctx(t), acme.ID, "", gatehouse.Page{})
	must(t, err)
	if got, want := memberNames(all), []string{"acme/amy:admin", "acme/Bob:member", "acme/carl:member", "acme/owner:admin"}; !slices.Equal(got, want) {
		t.Errorf("ListMembers = %v, want %v", got, want)
	}
	if len(all) > 0 {
		sameUser(t, all[0].User, amy)
		sameUser(t, all[0].Org, acme)
	}
	owners, err := s.ListMembers(ctx(t), acme.ID, gatehouse.OrgOwner, gatehouse.Page{})
	must(t, err)
	if got, want := memberNames(owners), []string{"acme/amy:admin", "acme/owner:admin"}; !slices.Equal(got, want) {
		t.Errorf("ListMembers owners = %v, want %v", got, want)
	}
	members, err := s.ListMembers(ctx(t), acme.ID, gatehouse.OrgMember, gatehouse.Page{Page: 2, PerPage: 1})
	must(t, err)
	if got, want := memberNames(members), []string{"acme/carl:member"}; !slices.Equal(got, want) {
		t.Errorf("ListMembers members page 2 = %v, want %v", got, want)
	}
	_, err = s.ListMembers(ctx(t), acme.ID, "boss", gatehouse.Page{})
	wantKind(t, err, gatehouse.Invalid, "ListMembers with an unknown role")
	none, err := s.ListMembers(ctx(t), acme.ID+1000, "", gatehouse.Page{})
	must(t, err)
	if none == nil || len(none) != 0 {
		t.Errorf("ListMembers of a missing organization = %#v, want empty", none)
	}

	mine, err := s.ListUserMemberships(ctx(t), bob.ID, gatehouse.Page{})
	must(t, err)
	if got, want := memberNames(mine), []string{"acme/Bob:member", "Beta/Bob:admin"}; !slices.Equal(got, want) {
		t.Errorf("ListUserMemberships = %v, want %v", got, want)
	}
	if len(mine) > 0 {
		sameUser(t, mine[0].Org, acme)
		sameUser(t, mine[0].User, bob)
	}
	p2, err := s.ListUserMemberships(ctx(t), bob.ID, gatehouse.Page{Page: 2, PerPage: 1})
	must(t, err)
	if got, want := memberNames(p2), []string{"Beta/Bob:admin"}; !slices.Equal(got, want) {
		t.Errorf("ListUserMemberships page 2 = %v, want %v", got, want)
	}

	// Refusals.
	wantKind(t, s.SetMembership(ctx(t), acme.ID, beta.ID, gatehouse.OrgMember),
		gatehouse.Invalid, "SetMembership of an organization")
	wantKind(t, s.SetMembership(ctx(t), acme.ID, bob.ID+1000, gatehouse.OrgMember),
		gatehouse.NotFound, "SetMembership of a missing user")
	wantKind(t, s.SetMembership(ctx(t), acme.ID+1000, bob.ID, gatehouse.OrgMember),
		gatehouse.NotFound, "SetMembership in a missing organization")
	wantKind(t, s.SetMembership(ctx(t), owner.ID, bob.ID, gatehouse.OrgMember),
		gatehouse.NotFound, "SetMembership in a person")
	wantKind(t, s.SetMembership(ctx(t), acme.ID, bob.ID, "boss"),
		gatehouse.Invalid, "SetMembership with an unknown role")

	must(t, s.RemoveMembership(ctx(t), acme.ID, bob.ID))
	role, err = s.Membership(ctx(t), acme.ID, bob.ID)
	must(t, err)
	if role != "" {
		t.Errorf("Membership after removal = %q", role)
	}
	wantKind(t, s.RemoveMembership(ctx(t), acme.ID, bob.ID), gatehouse.NotFound, "RemoveMembership twice")
	wantKind(t, s.RemoveMembership(ctx(t), acme.ID+1000, bob.ID), gatehouse.NotFound, "RemoveMembership from a missing organization")
	// Other memberships are untouched.
	role, err = s.Membership(ctx(t), beta.ID, bob.ID)
	must(t, err)
	if role != gatehouse.OrgOwner {
		t.Errorf("Membership in the other organization = %q", role)
	}
}

// testLastOwner checks that an organization always keeps an owner.
func testLastOwner(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	bob := newUser(t, s, "bob")
	org := newOrg(t, s, "acme", owner)
	setMember(t, s, org, bob, gatehouse.OrgMember)

	err := s.SetMembership(ctx(t), org.ID, owner.ID, gatehouse.OrgMember)
	wantKind(t, err, gatehouse.Invalid, "demoting the last owner")
	wantMsg(t, err, "owner", "demoting the last owner")
	wantKind(t, s.RemoveMembership(ctx(t), org.ID, owner.ID), gatehouse.Invalid, "removing the last owner")
	role, err := s.Membership(ctx(t), org.ID, owner.ID)
	must(t, err)
	if role != gatehouse.OrgOwner {
		t.Errorf("last owner's role after refused changes = %q", role)
	}

	// With a second owner either may go.
	setMember(t, s, org, bob, gatehouse.OrgOwner)
	setMember(t, s, org, owner, gatehouse.OrgMember)
	must(t, s.RemoveMembership(ctx(t), org.ID, owner.ID))
	n, err := s.CountOwners(ctx(t), org.ID)
	must(t, err)
	if n != 1 {
		t.Errorf("CountOwners = %d, want 1", n)
	}

	// Concurrent demotions of the two owners: one of them must fail, or
	// both could see the other still an owner and leave none.
	for round := range 10 {
		setMember(t, s, org, owner, gatehouse.OrgOwner)
		setMember(t, s, org, bob, gatehouse.OrgOwner)
		start := make(chan struct{})
		errs := make(chan error, 2)
		for _, u := range []*gatehouse.User{owner, bob} {
			go func() {
				<-start
				errs <- s.SetMembership(ctx(t), org.ID, u.ID, gatehouse.OrgMember)
			}()
		}
		close(start)
		var failed int
		for range 2 {
			if err := <-errs; err != nil {
				wantKind(t, err, gatehouse.Invalid, "concurrent demotion")
				failed++
			}
		}
		n, err = s.CountOwners(ctx(t), org.ID)
		must(t, err)
		if failed != 1 || n != 1 {
			t.Fatalf("round %d of concurrent demotions of both owners: %d failed, %d owners left; want 1 and 1", round, failed, n)
		}
	}
}

func testRemoveMembershipLeavesTeams(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	bob := newUser(t, s, "bob")
	acme := newOrg(t, s, "acme", owner)
	beta := newOrg(t, s, "beta", owner)
	setMember(t, s, acme, bob, gatehouse.OrgMember)
	setMember(t, s, beta, bob, gatehouse.OrgMember)
	devs := newTeam(t, s, acme, "Devs")
	ops := newTeam(t, s, acme, "Ops")
	other := newTeam(t, s, beta, "Devs")
	for _, tm := range []*gatehouse.Team{devs, ops, other} {
		must(t, s.SetTeamMembership(ctx(t), tm.ID, bob.ID, gatehouse.TeamMember))
	}
	repo := newRepo(t, s, acme, "private", true)
	must(t, s.SetTeamRepo(ctx(t), devs.ID, repo.ID, gatehouse.PermWrite))

	must(t, s.RemoveMembership(ctx(t), acme.ID, bob.ID))
	for _, tm := range []*gatehouse.Team{devs, ops} {
		role, err := s.TeamMembership(ctx(t), tm.ID, bob.ID)
		must(t, err)
		if role != "" {
			t.Errorf("team %s membership survived RemoveMembership: %q", tm.Slug, role)
		}
	}
	teams, err := s.ListUserTeams(ctx(t), bob.ID, gatehouse.Page{})
	must(t, err)
	if got, want := teamNames(teams), []string{"beta/devs"}; !slices.Equal(got, want) {
		t.Errorf("ListUserTeams after leaving acme = %v, want %v", got, want)
	}
	g, err := s.RepoGrants(ctx(t), repo.ID, bob.ID)
	must(t, err)
	if g != (gatehouse.Grants{Base: gatehouse.PermRead}) {
		t.Errorf("RepoGrants after leaving = %+v, want only the organization's base", g)
	}
	// The team grant itself stays with the team.
	p, err := s.TeamRepoPermission(ctx(t), devs.ID, repo.ID)
	must(t, err)
	if p != gatehouse.PermWrite {
		t.Errorf("team grant after a member left = %v", p)
	}
	// Rejoining does not bring team memberships back.
	setMember(t, s, acme, bob, gatehouse.OrgMember)
	ms, err := s.ListTeamMembers(ctx(t), devs.ID, gatehouse.Page{})
	must(t, err)
	if len(ms) != 0 {
		t.Errorf("team members after rejoining = %v", ms)
	}
}

func testTeams(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	acme := newOrg(t, s, "Acme", owner)
	beta := newOrg(t, s, "beta", owner)

	before := time.Now().Add(-time.Second)
	tm := &gatehouse.Team{OrgID: acme.ID, Name: "Core Team!", Description: "the core"}
	must(t, s.CreateTeam(ctx(t), tm))
	if tm.ID == 0 || tm.Slug != "core-team" || tm.Privacy != "closed" || tm.Org != "Acme" ||
		tm.CreatedAt.Before(before) || !tm.UpdatedAt.Equal(tm.CreatedAt) {
		t.Errorf("CreateTeam left %+v", tm)
	}
	sameTeam := func(got, want *gatehouse.Team) {
		t.Helper()
		if got.ID != want.ID || got.OrgID != want.OrgID || got.Org != want.Org || got.Name != want.Name ||
			got.Slug != want.Slug || got.Description != want.Description || got.Privacy != want.Privacy {
			t.Errorf("team = %+v, want %+v", got, want)
		}
		wantTime(t, got.CreatedAt, want.CreatedAt, "team CreatedAt")
		wantTime(t, got.UpdatedAt, want.UpdatedAt, "team UpdatedAt")
	}
	for _, slug := range []string{"core-team", "Core-Team"} {
		got, err := s.FindTeam(ctx(t), acme.ID, slug)
		if err != nil {
			t.Errorf("FindTeam(%q): %v", slug, err)
			continue
		}
		sameTeam(got, tm)
	}
	_, err := s.FindTeam(ctx(t), beta.ID, "core-team")
	wantKind(t, err, gatehouse.NotFound, "FindTeam in another organization")
	_, err = s.FindTeam(ctx(t), acme.ID, "nope")
	wantKind(t, err, gatehouse.NotFound, "FindTeam of a missing slug")

	// A given slug is lowercased; privacy secret is kept.
	sec := &gatehouse.Team{OrgID: acme.ID, Name: "Security", Slug: "SEC", Privacy: "secret"}
	must(t, s.CreateTeam(ctx(t), sec))
	if sec.Slug != "sec" || sec.Privacy != "secret" {
		t.Errorf("CreateTeam with slug and privacy left %+v", sec)
	}

	err = s.CreateTeam(ctx(t), &gatehouse.Team{OrgID: acme.ID, Name: "core team"})
	wantKind(t, err, gatehouse.Conflict, "CreateTeam with a taken slug")
	wantMsg(t, err, "team", "duplicate team")
	// Another organization may use the slug.
	newTeam(t, s, beta, "Core Team")

	for _, c := range []struct {
		what string
		tm   gatehouse.Team
		kind gatehouse.Kind
	}{
		{"empty name", gatehouse.Team{OrgID: acme.ID, Name: "  "}, gatehouse.Invalid},
		{"name without a letter", gatehouse.Team{OrgID: acme.ID, Name: "!!!"}, gatehouse.Invalid},
		{"malformed slug", gatehouse.Team{OrgID: acme.ID, Name: "x", Slug: "a/b"}, gatehouse.Invalid},
		{"unknown privacy", gatehouse.Team{OrgID: acme.ID, Name: "x", Privacy: "public"}, gatehouse.Invalid},
		{"missing organization", gatehouse.Team{OrgID: acme.ID + 1000, Name: "x"}, gatehouse.NotFound},
		{"person as organization", gatehouse.Team{OrgID: owner.ID, Name: "x"}, gatehouse.NotFound},
	} {
		wantKind(t, s.CreateTeam(ctx(t), &c.tm), c.kind, "CreateTeam with "+c.what)
	}

	newTeam(t, s, acme, "alpha")
	teams, err := s.ListTeams(ctx(t), acme.ID, gatehouse.Page{})
	must(t, err)
	if got, want := teamNames(teams), []string{"Acme/alpha", "Acme/core-team", "Acme/sec"}; !slices.Equal(got, want) {
		t.Errorf("ListTeams = %v, want %v", got, want)
	}
	if len(teams) > 1 {
		sameTeam(teams[1], tm)
	}
	p2, err := s.ListTeams(ctx(t), acme.ID, gatehouse.Page{Page: 2, PerPage: 2})
	must(t, err)
	if got, want := teamNames(p2), []string{"Acme/sec"}; !slices.Equal(got, want) {
		t.Errorf("ListTeams page 2 = %v, want %v", got, want)
	}

	// UpdateTeam.
	created := tm.CreatedAt
	time.Sleep(2 * ms)
	tm.Name = "Platform"
	tm.Slug = ""
	tm.Description = "renamed"
	tm.Privacy = "secret"
	must(t, s.UpdateTeam(ctx(t), tm))
	if tm.Slug != "platform" || !tm.UpdatedAt.After(created) {
		t.Errorf("UpdateTeam left %+v", tm)
	}
	got, err := s.FindTeam(ctx(t), acme.ID, "platform")
	must(t, err)
	sameTeam(got, tm)
	_, err = s.FindTeam(ctx(t), acme.ID, "core-team")
	wantKind(t, err, gatehouse.NotFound, "FindTeam by the old slug")

	clash := *tm
	clash.Slug = "sec"
	wantKind(t, s.UpdateTeam(ctx(t), &clash), gatehouse.Conflict, "UpdateTeam to a taken slug")
	missing := *tm
	missing.ID += 1000
	wantKind(t, s.UpdateTeam(ctx(t), &missing), gatehouse.NotFound, "UpdateTeam of a missing team")
	bad := *tm
	bad.Privacy = "open"
	wantKind(t, s.UpdateTeam(ctx(t), &bad), gatehouse.Invalid, "UpdateTeam with an unknown privacy")

	must(t, s.DeleteTeam(ctx(t), sec.ID))
	_, err = s.FindTeam(ctx(t), acme.ID, "sec")
	wantKind(t, err, gatehouse.NotFound, "FindTeam after DeleteTeam")
	wantKind(t, s.DeleteTeam(ctx(t), sec.ID), gatehouse.NotFound, "DeleteTeam twice")
	// The slug is free again.
	newTeam(t, s, acme, "SEC")
}

func testTeamMembers(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	bob := newUser(t, s, "Bob")
	amy := newUser(t, s, "amy")
	stranger := newUser(t, s, "stranger")
	acme := newOrg(t, s, "acme", owner)
	beta := newOrg(t, s, "Beta", owner)
	setMember(t, s, acme, bob, gatehouse.OrgMember)
	setMember(t, s, acme, amy, gatehouse.OrgMember)
	setMember(t, s, beta, bob, gatehouse.OrgMember)
	devs := newTeam(t, s, acme, "devs")
	ops := newTeam(t, s, acme, "ops")
	betaDevs := newTeam(t, s, beta, "devs")

	role, err := s.TeamMembership(ctx(t), devs.ID, bob.ID)
	must(t, err)
	if role != "" {
		t.Errorf("TeamMembership before joining = %q", role)
	}
	must(t, s.SetTeamMembership(ctx(t), devs.ID, bob.ID, gatehouse.TeamMember))
	must(t, s.SetTeamMembership(ctx(t), devs.ID, amy.ID, gatehouse.TeamMaintainer))
	must(t, s.SetTeamMembership(ctx(t), devs.ID, owner.ID, gatehouse.TeamMember))
	must(t, s.SetTeamMembership(ctx(t), ops.ID, bob.ID, gatehouse.TeamMember))
	must(t, s.SetTeamMembership(ctx(t), betaDevs.ID, bob.ID, gatehouse.TeamMember))
	// Changing a role.
	must(t, s.SetTeamMembership(ctx(t), devs.ID, bob.ID, gatehouse.TeamMaintainer))
	role, err = s.TeamMembership(ctx(t), devs.ID, bob.ID)
	must(t, err)
	if role != gatehouse.TeamMaintainer {
		t.Errorf("TeamMembership after the change = %q", role)
	}

	ms, err := s.ListTeamMembers(ctx(t), devs.ID, gatehouse.Page{})
	must(t, err)
	var got []string
	for _, m := range ms {
		got = append(got, m.User.Login+":"+string(m.Role))
	}
	if want := []string{"amy:maintainer", "Bob:maintainer", "owner:member"}; !slices.Equal(got, want) {
		t.Errorf("ListTeamMembers = %v, want %v", got, want)
	}
	if len(ms) > 0 {
		sameUser(t, ms[0].User, amy)
	}
	p2, err := s.ListTeamMembers(ctx(t), devs.ID, gatehouse.Page{Page: 2, PerPage: 2})
	must(t, err)
	if len(p2) != 1 || p2[0].User.ID != owner.ID {
		t.Errorf("ListTeamMembers page 2 = %v", p2)
	}

	teams, err := s.ListUserTeams(ctx(t), bob.ID, gatehouse.Page{})
	must(t, err)
	if got, want := teamNames(teams), []string{"acme/devs", "acme/ops", "Beta/devs"}; !slices.Equal(got, want) {
		t.Errorf("ListUserTeams = %v, want %v", got, want)
	}
	teams, err = s.ListUserTeams(ctx(t), bob.ID, gatehouse.Page{Page: 3, PerPage: 1})
	must(t, err)
	if got, want := teamNames(teams), []string{"Beta/devs"}; !slices.Equal(got, want) {
		t.Errorf("ListUserTeams page 3 = %v, want %v", got, want)
	}

	// Refusals.
	err = s.SetTeamMembership(ctx(t), devs.ID, stranger.ID, gatehouse.TeamMember)
	wantKind(t, err, gatehouse.Invalid, "SetTeamMembership of a non-member")
	wantMsg(t, err, "must be a member of the organization", "SetTeamMembership of a non-member")
	wantKind(t, s.SetTeamMembership(ctx(t), betaDevs.ID, amy.ID, gatehouse.TeamMember),
		gatehouse.Invalid, "SetTeamMembership of a member of another organization")
	wantKind(t, s.SetTeamMembership(ctx(t), devs.ID, beta.ID, gatehouse.TeamMember),
		gatehouse.Invalid, "SetTeamMembership of an organization")
	wantKind(t, s.SetTeamMembership(ctx(t), devs.ID, bob.ID+1000, gatehouse.TeamMember),
		gatehouse.NotFound, "SetTeamMembership of a missing user")
	wantKind(t, s.SetTeamMembership(ctx(t), devs.ID+1000, bob.ID, gatehouse.TeamMember),
		gatehouse.NotFound, "SetTeamMembership of a missing team")
	wantKind(t, s.SetTeamMembership(ctx(t), devs.ID, bob.ID, "captain"),
		gatehouse.Invalid, "SetTeamMembership with an unknown role")

	must(t, s.RemoveTeamMembership(ctx(t), devs.ID, bob.ID))
	role, err = s.TeamMembership(ctx(t), devs.ID, bob.ID)
	must(t, err)
	if role != "" {
		t.Errorf("TeamMembership after removal = %q", role)
	}
	wantKind(t, s.RemoveTeamMembership(ctx(t), devs.ID, bob.ID), gatehouse.NotFound, "RemoveTeamMembership twice")
	// Leaving a team keeps the organization membership.
	orgRole, err := s.Membership(ctx(t), acme.ID, bob.ID)
	must(t, err)
	if orgRole != gatehouse.OrgMember {
		t.Errorf("Membership after leaving a team = %q", orgRole)
	}
}

func testTeamRepos(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	acme := newOrg(t, s, "acme", owner)
	beta := newOrg(t, s, "beta", owner)
	devs := newTeam(t, s, acme, "devs")
	widget := newRepo(t, s, acme, "Widget", true)
	api := newRepo(t, s, acme, "api", false)
	foreign := newRepo(t, s, beta, "foreign", true)
	personal := newRepo(t, s, owner, "personal", true)

	p, err := s.TeamRepoPermission(ctx(t), devs.ID, widget.ID)
	must(t, err)
	if p != gatehouse.PermNone {
		t.Errorf("TeamRepoPermission before any grant = %v", p)
	}
	must(t, s.SetTeamRepo(ctx(t), devs.ID, widget.ID, gatehouse.PermRead))
	must(t, s.SetTeamRepo(ctx(t), devs.ID, api.ID, gatehouse.PermAdmin))
	// Replace a grant.
	must(t, s.SetTeamRepo(ctx(t), devs.ID, widget.ID, gatehouse.PermWrite))
	p, err = s.TeamRepoPermission(ctx(t), devs.ID, widget.ID)
	must(t, err)
	if p != gatehouse.PermWrite {
		t.Errorf("TeamRepoPermission after replacing = %v, want write", p)
	}

	trs, err := s.ListTeamRepos(ctx(t), devs.ID, gatehouse.Page{})
	must(t, err)
	var got []string
	for _, tr := range trs {
		got = append(got, tr.Repo.FullName()+":"+tr.Permission.String())
		if tr.Repo.ID == 0 || tr.Repo.CreatedAt.IsZero() || tr.Repo.OwnerID != acme.ID {
			t.Errorf("ListTeamRepos: incomplete repository %+v", tr.Repo)
		}
	}
	if want := []string{"acme/api:admin", "acme/Widget:write"}; !slices.Equal(got, want) {
		t.Errorf("ListTeamRepos = %v, want %v", got, want)
	}
	p2, err := s.ListTeamRepos(ctx(t), devs.ID, gatehouse.Page{Page: 2, PerPage: 1})
	must(t, err)
	if len(p2) != 1 || p2[0].Repo.ID != widget.ID {
		t.Errorf("ListTeamRepos page 2 = %v", p2)
	}

	// Refusals.
	err = s.SetTeamRepo(ctx(t), devs.ID, foreign.ID, gatehouse.PermRead)
	wantKind(t, err, gatehouse.Invalid, "SetTeamRepo on another organization's repository")
	wantKind(t, s.SetTeamRepo(ctx(t), devs.ID, personal.ID, gatehouse.PermRead),
		gatehouse.Invalid, "SetTeamRepo on a person's repository")
	wantKind(t, s.SetTeamRepo(ctx(t), devs.ID, widget.ID+1000, gatehouse.PermRead),
		gatehouse.NotFound, "SetTeamRepo on a missing repository")
	wantKind(t, s.SetTeamRepo(ctx(t), devs.ID+1000, widget.ID, gatehouse.PermRead),
		gatehouse.NotFound, "SetTeamRepo for a missing team")
	wantKind(t, s.SetTeamRepo(ctx(t), devs.ID+1000, widget.ID, gatehouse.PermNone),
		gatehouse.NotFound, "removing a grant of a missing team")
	wantKind(t, s.SetTeamRepo(ctx(t), devs.ID, widget.ID, 9),
		gatehouse.Invalid, "SetTeamRepo with an unknown permission")
	p, err = s.TeamRepoPermission(ctx(t), devs.ID, foreign.ID)
	must(t, err)
	if p != gatehouse.PermNone {
		t.Errorf("refused grant was stored: %v", p)
	}

	// Remove one; removing what is not there is fine.
	must(t, s.SetTeamRepo(ctx(t), devs.ID, api.ID, gatehouse.PermNone))
	must(t, s.SetTeamRepo(ctx(t), devs.ID, api.ID, gatehouse.PermNone))
	p, err = s.TeamRepoPermission(ctx(t), devs.ID, api.ID)
	must(t, err)
	if p != gatehouse.PermNone {
		t.Errorf("TeamRepoPermission after removal = %v", p)
	}

	// Deleting the repository takes the grant with it.
	must(t, s.DeleteRepo(ctx(t), widget.ID))
	trs, err = s.ListTeamRepos(ctx(t), devs.ID, gatehouse.Page{})
	must(t, err)
	if len(trs) != 0 {
		t.Errorf("team grants after DeleteRepo = %v", trs)
	}
}

func testDeleteTeamCascades(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	bob := newUser(t, s, "bob")
	acme := newOrg(t, s, "acme", owner)
	setMember(t, s, acme, bob, gatehouse.OrgMember)
	devs := newTeam(t, s, acme, "devs")
	repo := newRepo(t, s, acme, "repo", true)
	must(t, s.SetTeamMembership(ctx(t), devs.ID, bob.ID, gatehouse.TeamMember))
	must(t, s.SetTeamRepo(ctx(t), devs.ID, repo.ID, gatehouse.PermWrite))

	must(t, s.DeleteTeam(ctx(t), devs.ID))
	teams, err := s.ListUserTeams(ctx(t), bob.ID, gatehouse.Page{})
	must(t, err)
	if len(teams) != 0 {
		t.Errorf("ListUserTeams after DeleteTeam = %v", teamNames(teams))
	}
	g, err := s.RepoGrants(ctx(t), repo.ID, bob.ID)
	must(t, err)
	if g.Team != gatehouse.PermNone {
		t.Errorf("team grant survived DeleteTeam: %+v", g)
	}
	// A new team of the same name starts empty.
	again := newTeam(t, s, acme, "devs")
	ms, err := s.ListTeamMembers(ctx(t), again.ID, gatehouse.Page{})
	must(t, err)
	trs, err := s.ListTeamRepos(ctx(t), again.ID, gatehouse.Page{})
	must(t, err)
	if len(ms) != 0 || len(trs) != 0 {
		t.Errorf("new team inherited members %v, grants %v", ms, trs)
	}
}

func testRepoGrants(t *testing.T, s orgStore) {
	owner := newUser(t, s, "owner")
	member := newUser(t, s, "member")
	teamed := newUser(t, s, "teamed")
	twoTeams := newUser(t, s, "twoteams")
	outside := newUser(t, s, "outside")
	stranger := newUser(t, s, "stranger")
	second := newUser(t, s, "second")

	acme := newOrg(t, s, "acme", owner)
	closed := &gatehouse.User{Login: "closed"}
	must(t, s.CreateOrg(ctx(t), closed, owner.ID))
	closed.BasePermission = gatehouse.PermNone
	must(t, s.UpdateOrg(ctx(t), closed))
	setMember(t, s, acme, member, gatehouse.OrgMember)
	setMember(t, s, acme, teamed, gatehouse.OrgMember)
	setMember(t, s, acme, twoTeams, gatehouse.OrgMember)
	setMember(t, s, acme, second, gatehouse.OrgOwner)
	setMember(t, s, closed, member, gatehouse.OrgMember)

	repo := newRepo(t, s, acme, "repo", true)
	other := newRepo(t, s, acme, "other", true)
	closedRepo := newRepo(t, s, closed, "repo", true)
	personal := newRepo(t, s, owner, "personal", true)

	readers := newTeam(t, s, acme, "readers")
	writers := newTeam(t, s, acme, "writers")
	admins := newTeam(t, s, acme, "admins")
	must(t, s.SetTeamRepo(ctx(t), readers.ID, repo.ID, gatehouse.PermRead))
	must(t, s.SetTeamRepo(ctx(t), writers.ID, repo.ID, gatehouse.PermWrite))
	must(t, s.SetTeamRepo(ctx(t), admins.ID, repo.ID, gatehouse.PermAdmin))
	// A team's grant on another repository does not count.
	must(t, s.SetTeamRepo(ctx(t), admins.ID, other.ID, gatehouse.PermAdmin))
	must(t, s.SetTeamMembership(ctx(t), writers.ID, teamed.ID, gatehouse.TeamMember))
	must(t, s.SetTeamMembership(ctx(t), readers.ID, twoTeams.ID, gatehouse.TeamMember))
	must(t, s.SetTeamMembership(ctx(t), admins.ID, twoTeams.ID, gatehouse.TeamMember))
	must(t, s.SetTeamMembership(ctx(t), readers.ID, member.ID, gatehouse.TeamMember))

	must(t, s.SetCollaborator(ctx(t), repo.ID, outside.ID, gatehouse.PermWrite))
	must(t, s.SetCollaborator(ctx(t), repo.ID, member.ID, gatehouse.PermAdmin))
	must(t, s.SetCollaborator(ctx(t), personal.ID, outside.ID, gatehouse.PermRead))

	read, write, admin := gatehouse.PermRead, gatehouse.PermWrite, gatehouse.PermAdmin
	cases := []struct {
		what string
		repo *gatehouse.Repo
		user *gatehouse.User
		want gatehouse.Grants
	}{
		{"org owner", repo, owner, gatehouse.Grants{OrgRole: gatehouse.OrgOwner, Base: read}},
		{"second owner", repo, second, gatehouse.Grants{OrgRole: gatehouse.OrgOwner, Base: read}},
		{"member with collaborator and team grants", repo, member,
			gatehouse.Grants{Collaborator: admin, Team: read, OrgRole: gatehouse.OrgMember, Base: read}},
		{"member in one team", repo, teamed, gatehouse.Grants{Team: write, OrgRole: gatehouse.OrgMember, Base: read}},
		{"member in two teams: the higher grant", repo, twoTeams,
			gatehouse.Grants{Team: admin, OrgRole: gatehouse.OrgMember, Base: read}},
		{"team grant on another repository", other, teamed, gatehouse.Grants{OrgRole: gatehouse.OrgMember, Base: read}},
		{"outside collaborator", repo, outside, gatehouse.Grants{Collaborator: write, Base: read}},
		{"stranger", repo, stranger, gatehouse.Grants{Base: read}},
		{"missing user", repo, &gatehouse.User{ID: stranger.ID + 1000}, gatehouse.Grants{Base: read}},
		{"member of an org with base none", closedRepo, member, gatehouse.Grants{OrgRole: gatehouse.OrgMember}},
		{"owner of an org with base none", closedRepo, owner, gatehouse.Grants{OrgRole: gatehouse.OrgOwner}},
		{"non-member of an org with base none", closedRepo, teamed, gatehouse.Grants{}},
		{"person's repository, collaborator", personal, outside, gatehouse.Grants{Collaborator: read}},
		{"person's repository, its owner", personal, owner, gatehouse.Grants{}},
		{"person's repository, stranger", personal, stranger, gatehouse.Grants{}},
	}
	for _, c := range cases {
		g, err := s.RepoGrants(ctx(t), c.repo.ID, c.user.ID)
		if err != nil {
			t.Errorf("RepoGrants %s: %v", c.what, err)
			continue
		}
		if g != c.want {
			t.Errorf("RepoGrants %s = %+v, want %+v", c.what, g, c.want)
		}
	}
	_, err := s.RepoGrants(ctx(t), repo.ID+1000, owner.ID)
	wantKind(t, err, gatehouse.NotFound, "RepoGrants of a missing repository")

	// The base permission follows the organization's setting.
	acme.BasePermission = gatehouse.PermWrite
	must(t, s.UpdateOrg(ctx(t), acme))
	g, err := s.RepoGrants(ctx(t), other.ID, member.ID)
	must(t, err)
	if want := (gatehouse.Grants{OrgRole: gatehouse.OrgMember, Base: write}); g != want {
		t.Errorf("RepoGrants after raising the base = %+v, want %+v", g, want)
	}
}

func testListReposOrgs(t *testing.T, s orgStore) {
	ann := newUser(t, s, "ann")     // owner of both organizations
	mem := newUser(t, s, "mem")     // member of both, in closed's team
	tia := newUser(t, s, "tia")     // member of closed, in no team
	out := newUser(t, s, "outside") // no membership
	// acme has the default base permission, read; closed has none.
	acme := newOrg(t, s, "acme", ann)
	closed := newOrg(t, s, "closed", ann)
	closed.BasePermission = gatehouse.PermNone
	must(t, s.UpdateOrg(ctx(t), closed))
	setMember(t, s, acme, mem, gatehouse.OrgMember)
	setMember(t, s, closed, mem, gatehouse.OrgMember)
	setMember(t, s, closed, tia, gatehouse.OrgMember)

	newRepo(t, s, acme, "pub", false)
	newRepo(t, s, acme, "priv", true)
	cPub := newRepo(t, s, closed, "c-pub", false)
	cPriv := newRepo(t, s, closed, "c-priv", true)
	cTeam := newRepo(t, s, closed, "c-team", true)
	newRepo(t, s, out, "o-priv", true)
	devs := newTeam(t, s, closed, "devs")
	must(t, s.SetTeamMembership(ctx(t), devs.ID, mem.ID, gatehouse.TeamMember))
	must(t, s.SetTeamRepo(ctx(t), devs.ID, cTeam.ID, gatehouse.PermWrite))
	must(t, s.SetTeamRepo(ctx(t), devs.ID, cPub.ID, gatehouse.PermRead))
	// A team without members grants nobody anything.
	empty := newTeam(t, s, closed, "empty")
	must(t, s.SetTeamRepo(ctx(t), empty.ID, cPriv.ID, gatehouse.PermAdmin))

	publics := []string{"acme/pub", "closed/c-pub"}
	cases := []struct {
		name string
		f    gatehouse.RepoFilter
		want []string
	}{
		{"visible to the owner", gatehouse.RepoFilter{VisibleTo: ann.ID},
			[]string{"acme/priv", "acme/pub", "closed/c-priv", "closed/c-pub", "closed/c-team"}},
		{"member of the owner", gatehouse.RepoFilter{Member: ann.ID},
			[]string{"acme/priv", "acme/pub", "closed/c-priv", "closed/c-pub", "closed/c-team"}},
		{"visible to a member with teams", gatehouse.RepoFilter{VisibleTo: mem.ID},
			[]string{"acme/priv", "acme/pub", "closed/c-pub", "closed/c-team"}},
		{"member of a member with teams", gatehouse.RepoFilter{Member: mem.ID},
			[]string{"acme/priv", "acme/pub", "closed/c-pub", "closed/c-team"}},
		{"visible to a member of a base-none org", gatehouse.RepoFilter{VisibleTo: tia.ID}, publics},
		{"member of a member of a base-none org", gatehouse.RepoFilter{Member: tia.ID}, []string{}},
		{"visible to an outsider", gatehouse.RepoFilter{VisibleTo: out.ID},
			[]string{"acme/pub", "closed/c-pub", "outside/o-priv"}},
		{"member of an outsider", gatehouse.RepoFilter{Member: out.ID}, []string{"outside/o-priv"}},
		{"private only", gatehouse.RepoFilter{PrivateOnly: true},
			[]string{"acme/priv", "closed/c-priv", "closed/c-team", "outside/o-priv"}},
		{"private only, member", gatehouse.RepoFilter{PrivateOnly: true, Member: mem.ID},
			[]string{"acme/priv", "closed/c-team"}},
		{"private only, visible to an outsider", gatehouse.RepoFilter{PrivateOnly: true, VisibleTo: out.ID},
			[]string{"outside/o-priv"}},
		{"public only, member", gatehouse.RepoFilter{PublicOnly: true, Member: mem.ID},
			[]string{"acme/pub", "closed/c-pub"}},
		{"owner closed, visible to a member with teams", gatehouse.RepoFilter{OwnerID: closed.ID, VisibleTo: mem.ID},
			[]string{"closed/c-pub", "closed/c-team"}},
		// What a fine-grained token of ann reaches.
		{"token for closed, all", gatehouse.RepoFilter{VisibleTo: ann.ID, LimitPrivate: true, PrivateOwnerID: closed.ID},
			[]string{"acme/pub", "closed/c-priv", "closed/c-pub", "closed/c-team"}},
		{"token for closed, one selected", gatehouse.RepoFilter{Member: ann.ID, LimitPrivate: true, PrivateOwnerID: closed.ID, PrivateIDs: []int64{cTeam.ID}},
			[]string{"acme/pub", "closed/c-pub", "closed/c-team"}},
		{"token for closed, selection emptied", gatehouse.RepoFilter{Member: ann.ID, LimitPrivate: true, PrivateOwnerID: closed.ID, PrivateIDs: []int64{}},
			[]string{"acme/pub", "closed/c-pub"}},
		{"token for closed selecting another owner's", gatehouse.RepoFilter{VisibleTo: ann.ID, LimitPrivate: true, PrivateOwnerID: closed.ID, PrivateIDs: []int64{cPriv.ID + 1000}},
			[]string{"acme/pub", "closed/c-pub"}},
	}
	check := func(label string) {
		t.Helper()
		for _, c := range cases {
			rs, err := s.ListRepos(ctx(t), c.f, gatehouse.Page{})
			if err != nil {
				t.Errorf("%s: ListRepos %s: %v", label, c.name, err)
				continue
			}
			if got := repoNames(rs); !slices.Equal(nonNil(got), c.want) {
				t.Errorf("%s: ListRepos %s = %v, want %v", label, c.name, got, c.want)
			}
		}
	}
	check("base read")

	// With acme's base permission none, its members see only what teams
	// and collaborators give them; owners still see everything.
	acme.BasePermission = gatehouse.PermNone
	must(t, s.UpdateOrg(ctx(t), acme))
	for i := range cases {
		switch cases[i].name {
		case "visible to a member with teams":
			cases[i].want = []string{"acme/pub", "closed/c-pub", "closed/c-team"}
		case "member of a member with teams":
			cases[i].want = []string{"closed/c-pub", "closed/c-team"}
		case "private only, member":
			cases[i].want = []string{"closed/c-team"}
		case "public only, member":
			cases[i].want = []string{"closed/c-pub"}
		}
	}
	check("base none")

	// Leaving the organization takes the team's access away.
	must(t, s.RemoveMembership(ctx(t), closed.ID, mem.ID))
	rs, err := s.ListRepos(ctx(t), gatehouse.RepoFilter{Member: mem.ID}, gatehouse.Page{})
	must(t, err)
	if got := repoNames(rs); len(got) != 0 {
		t.Errorf("ListRepos member after leaving = %v, want none", got)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
