// Package storetest is the contract every gatehouse.Store must meet. Each
// adapter's tests call Run with a function that opens a fresh, empty store,
// so that SQLite and PostgreSQL are held to exactly the same behaviour.
package storetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Run runs the contract suite. open must return a new, empty store for each
// call; Run closes it when the subtest ends. The store must implement
// gatehouse.OrgStore as well: the organization tests fail for one that
// does not, rather than skip, so that an adapter cannot drop it unnoticed.
func Run(t *testing.T, open func(t *testing.T) gatehouse.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s gatehouse.Store)
	}{
		{"Users", testUsers},
		{"UserConflicts", testUserConflicts},
		{"UpdateUser", testUpdateUser},
		{"ListUsers", testListUsers},
		{"Repos", testRepos},
		{"RepoConflicts", testRepoConflicts},
		{"UpdateDeleteRepo", testUpdateDeleteRepo},
		{"ListRepos", testListRepos},
		{"Collaborators", testCollaborators},
		{"DeleteRepoCascades", testDeleteRepoCascades},
		{"Tokens", testTokens},
		{"TokenConflicts", testTokenConflicts},
		{"UpdateToken", testUpdateToken},
		{"DeleteToken", testDeleteToken},
		{"ListTokens", testListTokens},
		{"RecordTokenUses", testRecordTokenUses},
		{"Invalidations", testInvalidations},
		{"Settings", testSettings},
		{"ConcurrentTokens", testConcurrentTokens},
		{"Orgs", withOrgs(testOrgs)},
		{"OrgNamespace", withOrgs(testOrgNamespace)},
		{"UpdateOrg", withOrgs(testUpdateOrg)},
		{"Memberships", withOrgs(testMemberships)},
		{"LastOwner", withOrgs(testLastOwner)},
		{"RemoveMembershipLeavesTeams", withOrgs(testRemoveMembershipLeavesTeams)},
		{"Teams", withOrgs(testTeams)},
		{"TeamMembers", withOrgs(testTeamMembers)},
		{"TeamRepos", withOrgs(testTeamRepos)},
		{"DeleteTeamCascades", withOrgs(testDeleteTeamCascades)},
		{"RepoGrants", withOrgs(testRepoGrants)},
		{"ListReposOrgs", withOrgs(testListReposOrgs)},
		{"FineGrainedTokens", withOrgs(testFineGrainedTokens)},
		{"FineGrainedRefused", withOrgs(testFineGrainedRefused)},
		{"UpdateFineGrained", withOrgs(testUpdateFineGrained)},
		{"ListTokensFilters", withOrgs(testListTokensFilters)},
		{"DeleteRepoLeavesSelections", withOrgs(testDeleteRepoLeavesSelections)},
		{"ClassicTokensUnchanged", withOrgs(testClassicTokensUnchanged)},
		{"TokenPolicy", withOrgs(testTokenPolicy)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// ms is the precision stores keep times at.
const ms = time.Millisecond

func ctx(t *testing.T) context.Context { return t.Context() }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantKind(t *testing.T, err error, k gatehouse.Kind, what string) {
	t.Helper()
	if !gatehouse.IsKind(err, k) {
		t.Errorf("%s: got error %v (kind %v), want kind %v", what, err, gatehouse.ErrorKind(err), k)
	}
}

// wantMsg checks that a conflict tells the caller what is wrong.
func wantMsg(t *testing.T, err error, substr, what string) {
	t.Helper()
	if m := gatehouse.ErrorMessage(err); !strings.Contains(m, substr) {
		t.Errorf("%s: message %q does not mention %q", what, m, substr)
	}
}

// wantTime compares times at the precision stores keep and insists that a
// zero time comes back as exactly time.Time{}.
func wantTime(t *testing.T, got, want time.Time, what string) {
	t.Helper()
	if want.IsZero() {
		if got != (time.Time{}) {
			t.Errorf("%s = %v, want the zero time", what, got)
		}
		return
	}
	want = want.UTC().Truncate(ms)
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("%s = %v, want %v in UTC", what, got, want)
	}
}

func newUser(t *testing.T, s gatehouse.Store, login string) *gatehouse.User {
	t.Helper()
	u := &gatehouse.User{
		Login: login,
		Email: strings.ToLower(login) + "@example.com",
		Name:  "User " + login,
	}
	must(t, s.CreateUser(ctx(t), u))
	return u
}

func newRepo(t *testing.T, s gatehouse.Store, owner *gatehouse.User, name string, private bool) *gatehouse.Repo {
	t.Helper()
	r := &gatehouse.Repo{OwnerID: owner.ID, Name: name, Private: private, DefaultBranch: "main"}
	must(t, s.CreateRepo(ctx(t), r))
	return r
}

var tokenSeq struct {
	sync.Mutex
	n int
}

// fakeHash returns a distinct 64-hex-digit string per call.
func fakeHash() string {
	tokenSeq.Lock()
	defer tokenSeq.Unlock()
	tokenSeq.n++
	return fmt.Sprintf("%064x", tokenSeq.n)
}

func newToken(t *testing.T, s gatehouse.Store, u *gatehouse.User, note string, scopes ...string) *gatehouse.Token {
	t.Helper()
	if scopes == nil {
		scopes = []string{}
	}
	h := fakeHash()
	tok := &gatehouse.Token{UserID: u.ID, Note: note, Scopes: scopes, Hash: h, LastEight: h[56:]}
	must(t, s.CreateToken(ctx(t), tok))
	return tok
}

func sameUser(t *testing.T, got, want *gatehouse.User) {
	t.Helper()
	if got.ID != want.ID || got.Login != want.Login || got.Email != want.Email ||
		got.Name != want.Name || got.SiteAdmin != want.SiteAdmin || got.Suspended != want.Suspended ||
		got.PasswordHash != want.PasswordHash || got.Locale != want.Locale ||
		got.IsOrg != want.IsOrg || got.Description != want.Description ||
		got.BasePermission != want.BasePermission {
		t.Errorf("user = %+v, want %+v", got, want)
	}
	wantTime(t, got.CreatedAt, want.CreatedAt, "CreatedAt")
	wantTime(t, got.UpdatedAt, want.UpdatedAt, "UpdatedAt")
}

// sameToken compares every field of two tokens of either kind. RepoIDs
// must be nil exactly when want's is: nil for a token without selected
// repositories, a non-nil (possibly empty) slice for one with.
func sameToken(t *testing.T, got, want *gatehouse.Token) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Kind != want.Kind || got.Note != want.Note ||
		!slices.Equal(got.Scopes, want.Scopes) || got.Hash != want.Hash ||
		got.LastEight != want.LastEight || got.LastUsedIP != want.LastUsedIP ||
		got.Description != want.Description || got.TargetID != want.TargetID || got.Repos != want.Repos ||
		!slices.Equal(got.RepoIDs, want.RepoIDs) || (got.RepoIDs == nil) != (want.RepoIDs == nil) ||
		!maps.Equal(got.Permissions, want.Permissions) || got.Approval != want.Approval ||
		got.ReviewerID != want.ReviewerID || got.ReviewReason != want.ReviewReason {
		t.Errorf("token = %+v, want %+v", got, want)
	}
	if got.Scopes == nil {
		t.Errorf("token %d: Scopes is nil, want a non-nil slice", got.ID)
	}
	wantTime(t, got.ReviewedAt, want.ReviewedAt, "ReviewedAt")
	wantTime(t, got.ExpiresAt, want.ExpiresAt, "ExpiresAt")
	wantTime(t, got.CreatedAt, want.CreatedAt, "CreatedAt")
	wantTime(t, got.UpdatedAt, want.UpdatedAt, "UpdatedAt")
	wantTime(t, got.LastUsedAt, want.LastUsedAt, "LastUsedAt")
}

func repoNames(rs []*gatehouse.Repo) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.FullName())
	}
	return out
}

func testUsers(t *testing.T, s gatehouse.Store) {
	before := time.Now().Add(-time.Second)
	u := &gatehouse.User{
		Login:        "Octocat",
		Email:        "Octocat@Example.com",
		Name:         "The Octocat",
		SiteAdmin:    true,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		Locale:       "de",
	}
	must(t, s.CreateUser(ctx(t), u))
	if u.ID == 0 {
		t.Fatal("CreateUser did not set ID")
	}
	if u.CreatedAt.Before(before) || !u.UpdatedAt.Equal(u.CreatedAt) {
		t.Errorf("CreatedAt %v, UpdatedAt %v: want now and equal", u.CreatedAt, u.UpdatedAt)
	}

	got, err := s.FindUserByID(ctx(t), u.ID)
	must(t, err)
	sameUser(t, got, u)

	for _, login := range []string{"Octocat", "octocat", "OCTOCAT"} {
		got, err := s.FindUserByLogin(ctx(t), login)
		if err != nil {
			t.Errorf("FindUserByLogin(%q): %v", login, err)
			continue
		}
		sameUser(t, got, u)
	}

	_, err = s.FindUserByID(ctx(t), u.ID+1000)
	wantKind(t, err, gatehouse.NotFound, "FindUserByID of a missing user")
	_, err = s.FindUserByLogin(ctx(t), "nobody")
	wantKind(t, err, gatehouse.NotFound, "FindUserByLogin of a missing user")

	n, err := s.CountUsers(ctx(t))
	must(t, err)
	if n != 1 {
		t.Errorf("CountUsers = %d, want 1", n)
	}
}

func testUserConflicts(t *testing.T, s gatehouse.Store) {
	newUser(t, s, "alice")
	err := s.CreateUser(ctx(t), &gatehouse.User{Login: "ALICE", Email: "other@example.com"})
	wantKind(t, err, gatehouse.Conflict, "CreateUser with a login differing in case")
	wantMsg(t, err, "login", "duplicate login")

	err = s.CreateUser(ctx(t), &gatehouse.User{Login: "alice2", Email: "Alice@Example.COM"})
	wantKind(t, err, gatehouse.Conflict, "CreateUser with an email differing in case")
	wantMsg(t, err, "email", "duplicate email")

	// Accounts without an email do not collide with each other.
	must(t, s.CreateUser(ctx(t), &gatehouse.User{Login: "noemail1"}))
	must(t, s.CreateUser(ctx(t), &gatehouse.User{Login: "noemail2"}))

	n, err := s.CountUsers(ctx(t))
	must(t, err)
	if n != 3 {
		t.Errorf("CountUsers = %d, want 3", n)
	}
}

func testUpdateUser(t *testing.T, s gatehouse.Store) {
	_, seq0, err := s.Invalidations(ctx(t), 0)
	must(t, err)

	u := newUser(t, s, "bob")
	other := newUser(t, s, "carol")
	created := u.CreatedAt
	time.Sleep(2 * ms) // so that UpdatedAt visibly moves

	u.Email = "bob@new.example"
	u.Name = "Robert"
	u.SiteAdmin = true
	u.Suspended = true
	u.PasswordHash = "$argon2id$new"
	u.Locale = "fr"
	must(t, s.UpdateUser(ctx(t), u))
	if !u.UpdatedAt.After(created) {
		t.Errorf("UpdatedAt %v not after CreatedAt %v", u.UpdatedAt, created)
	}
	got, err := s.FindUserByID(ctx(t), u.ID)
	must(t, err)
	sameUser(t, got, u)
	wantTime(t, got.CreatedAt, created, "CreatedAt after update")

	invs, seq, err := s.Invalidations(ctx(t), seq0)
	must(t, err)
	if len(invs) != 1 || invs[0].UserID != u.ID || invs[0].TokenID != 0 || seq != invs[0].Seq {
		t.Errorf("Invalidations after UpdateUser = %+v, %d; want one for user %d", invs, seq, u.ID)
	}

	other.Email = "BOB@new.example"
	err = s.UpdateUser(ctx(t), other)
	wantKind(t, err, gatehouse.Conflict, "UpdateUser to a taken email")

	err = s.UpdateUser(ctx(t), &gatehouse.User{ID: u.ID + 1000, Login: "ghost"})
	wantKind(t, err, gatehouse.NotFound, "UpdateUser of a missing user")
	invs, _, err = s.Invalidations(ctx(t), seq)
	must(t, err)
	if len(invs) != 0 {
		t.Errorf("failed updates recorded invalidations: %+v", invs)
	}
}

func testListUsers(t *testing.T, s gatehouse.Store) {
	var ids []int64
	for i := range 5 {
		ids = append(ids, newUser(t, s, fmt.Sprintf("user%d", i)).ID)
	}
	all, err := s.ListUsers(ctx(t), gatehouse.Page{})
	must(t, err)
	var got []int64
	for _, u := range all {
		got = append(got, u.ID)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("ListUsers ids = %v, want %v", got, ids)
	}

	page2, err := s.ListUsers(ctx(t), gatehouse.Page{Page: 2, PerPage: 2})
	must(t, err)
	if len(page2) != 2 || page2[0].ID != ids[2] || page2[1].ID != ids[3] {
		t.Errorf("ListUsers page 2 of 2 = %v, want ids %v", page2, ids[2:4])
	}
	page4, err := s.ListUsers(ctx(t), gatehouse.Page{Page: 4, PerPage: 2})
	must(t, err)
	if len(page4) != 0 {
		t.Errorf("ListUsers past the end returned %d users", len(page4))
	}
	n, err := s.CountUsers(ctx(t))
	must(t, err)
	if n != 5 {
		t.Errorf("CountUsers = %d, want 5", n)
	}
}

func testRepos(t *testing.T, s gatehouse.Store) {
	owner := newUser(t, s, "Octo")
	r := &gatehouse.Repo{OwnerID: owner.ID, Name: "Hello-World", Description: "first", DefaultBranch: "main"}
	must(t, s.CreateRepo(ctx(t), r))
	if r.ID == 0 || r.CreatedAt.IsZero() || !r.UpdatedAt.Equal(r.CreatedAt) {
		t.Errorf("CreateRepo left ID %d, CreatedAt %v, UpdatedAt %v", r.ID, r.CreatedAt, r.UpdatedAt)
	}
	if r.Owner != "Octo" || r.FullName() != "Octo/Hello-World" {
		t.Errorf("after CreateRepo Owner %q, FullName %q", r.Owner, r.FullName())
	}

	for _, q := range [][2]string{{"Octo", "Hello-World"}, {"octo", "hello-world"}, {"OCTO", "HELLO-WORLD"}} {
		got, err := s.FindRepo(ctx(t), q[0], q[1])
		if err != nil {
			t.Errorf("FindRepo(%q, %q): %v", q[0], q[1], err)
			continue
		}
		if got.ID != r.ID || got.FullName() != "Octo/Hello-World" || got.Description != "first" ||
			got.DefaultBranch != "main" || got.Private || got.OwnerID != owner.ID {
			t.Errorf("FindRepo = %+v, want %+v", got, r)
		}
		wantTime(t, got.CreatedAt, r.CreatedAt, "CreatedAt")
		wantTime(t, got.PushedAt, time.Time{}, "PushedAt")
	}
	got, err := s.FindRepoByID(ctx(t), r.ID)
	must(t, err)
	if got.FullName() != "Octo/Hello-World" {
		t.Errorf("FindRepoByID FullName = %q", got.FullName())
	}

	_, err = s.FindRepo(ctx(t), "octo", "missing")
	wantKind(t, err, gatehouse.NotFound, "FindRepo of a missing name")
	_, err = s.FindRepo(ctx(t), "nobody", "hello-world")
	wantKind(t, err, gatehouse.NotFound, "FindRepo of a missing owner")
	_, err = s.FindRepoByID(ctx(t), r.ID+1000)
	wantKind(t, err, gatehouse.NotFound, "FindRepoByID of a missing repository")
}

func testRepoConflicts(t *testing.T, s gatehouse.Store) {
	a := newUser(t, s, "a")
	b := newUser(t, s, "b")
	newRepo(t, s, a, "Project", false)
	err := s.CreateRepo(ctx(t), &gatehouse.Repo{OwnerID: a.ID, Name: "PROJECT"})
	wantKind(t, err, gatehouse.Conflict, "CreateRepo with a name differing in case")
	wantMsg(t, err, "name", "duplicate repository")

	// Another owner may use the same name.
	newRepo(t, s, b, "project", false)

	err = s.CreateRepo(ctx(t), &gatehouse.Repo{OwnerID: b.ID + 1000, Name: "orphan"})
	wantKind(t, err, gatehouse.NotFound, "CreateRepo for a missing owner")
}

func testUpdateDeleteRepo(t *testing.T, s gatehouse.Store) {
	owner := newUser(t, s, "owner")
	r := newRepo(t, s, owner, "repo", false)
	created := r.CreatedAt
	time.Sleep(2 * ms)

	pushed := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", 3600))
	r.Description = "changed"
	r.Private = true
	r.DefaultBranch = "trunk"
	r.PushedAt = pushed
	must(t, s.UpdateRepo(ctx(t), r))
	if !r.UpdatedAt.After(created) {
		t.Errorf("UpdatedAt %v not after CreatedAt %v", r.UpdatedAt, created)
	}
	got, err := s.FindRepoByID(ctx(t), r.ID)
	must(t, err)
	if got.Description != "changed" || !got.Private || got.DefaultBranch != "trunk" {
		t.Errorf("after UpdateRepo got %+v", got)
	}
	wantTime(t, got.PushedAt, pushed, "PushedAt")
	wantTime(t, got.UpdatedAt, r.UpdatedAt, "UpdatedAt")
	wantTime(t, got.CreatedAt, created, "CreatedAt")

	err = s.UpdateRepo(ctx(t), &gatehouse.Repo{ID: r.ID + 1000})
	wantKind(t, err, gatehouse.NotFound, "UpdateRepo of a missing repository")

	must(t, s.DeleteRepo(ctx(t), r.ID))
	_, err = s.FindRepoByID(ctx(t), r.ID)
	wantKind(t, err, gatehouse.NotFound, "FindRepoByID after DeleteRepo")
	wantKind(t, s.DeleteRepo(ctx(t), r.ID), gatehouse.NotFound, "DeleteRepo twice")

	// The name is free again.
	newRepo(t, s, owner, "REPO", false)
}

func testListRepos(t *testing.T, s gatehouse.Store) {
	// Logins chosen so that ordering by login differs from ordering by ID
	// and is case-insensitive.
	zed := newUser(t, s, "zed")
	amy := newUser(t, s, "Amy")
	bob := newUser(t, s, "bob")

	newRepo(t, s, zed, "public", false)
	newRepo(t, s, zed, "Secret", true)
	newRepo(t, s, amy, "b-public", false)
	newRepo(t, s, amy, "A-secret", true)
	shared := newRepo(t, s, zed, "shared", true)
	must(t, s.SetCollaborator(ctx(t), shared.ID, bob.ID, gatehouse.PermRead))

	cases := []struct {
		name string
		f    gatehouse.RepoFilter
		want []string
	}{
		{"all", gatehouse.RepoFilter{},
			[]string{"Amy/A-secret", "Amy/b-public", "zed/public", "zed/Secret", "zed/shared"}},
		{"owner", gatehouse.RepoFilter{OwnerID: zed.ID},
			[]string{"zed/public", "zed/Secret", "zed/shared"}},
		{"public only", gatehouse.RepoFilter{PublicOnly: true},
			[]string{"Amy/b-public", "zed/public"}},
		{"owner public", gatehouse.RepoFilter{OwnerID: zed.ID, PublicOnly: true},
			[]string{"zed/public"}},
		{"visible to bob", gatehouse.RepoFilter{VisibleTo: bob.ID},
			[]string{"Amy/b-public", "zed/public", "zed/shared"}},
		{"visible to amy", gatehouse.RepoFilter{VisibleTo: amy.ID},
			[]string{"Amy/A-secret", "Amy/b-public", "zed/public"}},
		{"owner visible to bob", gatehouse.RepoFilter{OwnerID: zed.ID, VisibleTo: bob.ID},
			[]string{"zed/public", "zed/shared"}},
		{"member bob", gatehouse.RepoFilter{Member: bob.ID},
			[]string{"zed/shared"}},
		{"member zed", gatehouse.RepoFilter{Member: zed.ID},
			[]string{"zed/public", "zed/Secret", "zed/shared"}},
		{"member amy visible to bob", gatehouse.RepoFilter{Member: amy.ID, VisibleTo: bob.ID},
			[]string{"Amy/b-public"}},
	}
	for _, c := range cases {
		rs, err := s.ListRepos(ctx(t), c.f, gatehouse.Page{})
		if err != nil {
			t.Errorf("ListRepos %s: %v", c.name, err)
			continue
		}
		if got := repoNames(rs); !slices.Equal(got, c.want) {
			t.Errorf("ListRepos %s = %v, want %v", c.name, got, c.want)
		}
		for _, r := range rs {
			if r.Owner == "" || r.ID == 0 || r.CreatedAt.IsZero() {
				t.Errorf("ListRepos %s: incomplete repository %+v", c.name, r)
			}
		}
	}

	p2, err := s.ListRepos(ctx(t), gatehouse.RepoFilter{}, gatehouse.Page{Page: 2, PerPage: 2})
	must(t, err)
	if got, want := repoNames(p2), []string{"zed/public", "zed/Secret"}; !slices.Equal(got, want) {
		t.Errorf("ListRepos page 2 = %v, want %v", got, want)
	}
	p3, err := s.ListRepos(ctx(t), gatehouse.RepoFilter{}, gatehouse.Page{Page: 3, PerPage: 2})
	must(t, err)
	if got, want := repoNames(p3), []string{"zed/shared"}; !slices.Equal(got, want) {
		t.Errorf("ListRepos page 3 = %v, want %v", got, want)
	}
	none, err := s.ListRepos(ctx(t), gatehouse.RepoFilter{OwnerID: bob.ID}, gatehouse.Page{})
	must(t, err)
	if len(none) != 0 {
		t.Errorf("ListRepos for an owner without repositories = %v", repoNames(none))
	}
}

func testCollaborators(t *testing.T, s gatehouse.Store) {
	owner := newUser(t, s, "owner")
	carl := newUser(t, s, "carl")
	bea := newUser(t, s, "Bea")
	dan := newUser(t, s, "dan")
	r := newRepo(t, s, owner, "repo", true)

	p, err := s.Collaborator(ctx(t), r.ID, carl.ID)
	must(t, err)
	if p != gatehouse.PermNone {
		t.Errorf("Collaborator before any grant = %v", p)
	}

	must(t, s.SetCollaborator(ctx(t), r.ID, carl.ID, gatehouse.PermRead))
	must(t, s.SetCollaborator(ctx(t), r.ID, bea.ID, gatehouse.PermAdmin))
	must(t, s.SetCollaborator(ctx(t), r.ID, dan.ID, gatehouse.PermRead))
	// Replace a grant.
	must(t, s.SetCollaborator(ctx(t), r.ID, carl.ID, gatehouse.PermWrite))
	p, err = s.Collaborator(ctx(t), r.ID, carl.ID)
	must(t, err)
	if p != gatehouse.PermWrite {
		t.Errorf("Collaborator after replacing = %v, want write", p)
	}
	// Ownership is not a grant.
	p, err = s.Collaborator(ctx(t), r.ID, owner.ID)
	must(t, err)
	if p != gatehouse.PermNone {
		t.Errorf("Collaborator of the owner = %v, want none", p)
	}

	// Remove one.
	must(t, s.SetCollaborator(ctx(t), r.ID, dan.ID, gatehouse.PermNone))
	p, err = s.Collaborator(ctx(t), r.ID, dan.ID)
	must(t, err)
	if p != gatehouse.PermNone {
		t.Errorf("Collaborator after removal = %v", p)
	}
	// Removing what is not there is fine.
	must(t, s.SetCollaborator(ctx(t), r.ID, dan.ID, gatehouse.PermNone))

	cs, err := s.ListCollaborators(ctx(t), r.ID)
	must(t, err)
	var got []string
	for _, c := range cs {
		got = append(got, c.User.Login+":"+c.Permission.String())
	}
	if want := []string{"Bea:admin", "carl:write"}; !slices.Equal(got, want) {
		t.Errorf("ListCollaborators = %v, want %v", got, want)
	}
	if len(cs) > 0 {
		sameUser(t, cs[0].User, bea)
	}

	wantKind(t, s.SetCollaborator(ctx(t), r.ID+1000, carl.ID, gatehouse.PermRead),
		gatehouse.NotFound, "SetCollaborator on a missing repository")
	wantKind(t, s.SetCollaborator(ctx(t), r.ID, dan.ID+1000, gatehouse.PermRead),
		gatehouse.NotFound, "SetCollaborator for a missing user")
	wantKind(t, s.SetCollaborator(ctx(t), r.ID+1000, carl.ID, gatehouse.PermNone),
		gatehouse.NotFound, "removing a collaborator of a missing repository")

	empty, err := s.ListCollaborators(ctx(t), r.ID+1000)
	must(t, err)
	if len(empty) != 0 {
		t.Errorf("ListCollaborators of a missing repository = %v", empty)
	}
}

func testDeleteRepoCascades(t *testing.T, s gatehouse.Store) {
	owner := newUser(t, s, "owner")
	c := newUser(t, s, "collab")
	r := newRepo(t, s, owner, "doomed", false)
	must(t, s.SetCollaborator(ctx(t), r.ID, c.ID, gatehouse.PermWrite))
	must(t, s.DeleteRepo(ctx(t), r.ID))

	cs, err := s.ListCollaborators(ctx(t), r.ID)
	must(t, err)
	if len(cs) != 0 {
		t.Errorf("collaborators survived DeleteRepo: %v", cs)
	}
	p, err := s.Collaborator(ctx(t), r.ID, c.ID)
	must(t, err)
	if p != gatehouse.PermNone {
		t.Errorf("grant survived DeleteRepo: %v", p)
	}
	// A new repository of the same name starts without collaborators.
	r2 := newRepo(t, s, owner, "doomed", false)
	cs, err = s.ListCollaborators(ctx(t), r2.ID)
	must(t, err)
	if len(cs) != 0 {
		t.Errorf("new repository inherited collaborators: %v", cs)
	}
}

func testTokens(t *testing.T, s gatehouse.Store) {
	u := newUser(t, s, "tokenuser")
	expires := time.Now().Add(30 * 24 * time.Hour)
	tok := &gatehouse.Token{
		UserID:    u.ID,
		Note:      "deploy",
		Scopes:    []string{"read:user", "repo"},
		Hash:      fakeHash(),
		LastEight: "abcdefgh",
		ExpiresAt: expires,
	}
	must(t, s.CreateToken(ctx(t), tok))
	if tok.ID == 0 || tok.CreatedAt.IsZero() || !tok.UpdatedAt.Equal(tok.CreatedAt) {
		t.Errorf("CreateToken left ID %d, CreatedAt %v, UpdatedAt %v", tok.ID, tok.CreatedAt, tok.UpdatedAt)
	}
	want := *tok
	want.ExpiresAt = expires

	got, err := s.FindTokenByHash(ctx(t), tok.Hash)
	must(t, err)
	sameToken(t, got, &want)
	got, err = s.FindTokenByID(ctx(t), tok.ID)
	must(t, err)
	sameToken(t, got, &want)

	// No expiry and no scopes round-trip as the zero time and an empty,
	// non-nil slice.
	bare := &gatehouse.Token{UserID: u.ID, Note: "bare", Hash: fakeHash(), LastEight: "12345678"}
	must(t, s.CreateToken(ctx(t), bare))
	got, err = s.FindTokenByHash(ctx(t), bare.Hash)
	must(t, err)
	if got.Scopes == nil || len(got.Scopes) != 0 {
		t.Errorf("Scopes of a token without scopes = %#v, want []string{}", got.Scopes)
	}
	wantTime(t, got.ExpiresAt, time.Time{}, "ExpiresAt of a token that never expires")
	wantTime(t, got.LastUsedAt, time.Time{}, "LastUsedAt of an unused token")
	if got.Expired(time.Now()) {
		t.Error("a token without expiry reads back as expired")
	}

	_, err = s.FindTokenByHash(ctx(t), fakeHash())
	wantKind(t, err, gatehouse.NotFound, "FindTokenByHash of an unknown hash")
	_, err = s.FindTokenByID(ctx(t), bare.ID+1000)
	wantKind(t, err, gatehouse.NotFound, "FindTokenByID of a missing token")

	err = s.CreateToken(ctx(t), &gatehouse.Token{UserID: u.ID + 1000, Note: "x", Hash: fakeHash()})
	wantKind(t, err, gatehouse.NotFound, "CreateToken for a missing user")
}

func testTokenConflicts(t *testing.T, s gatehouse.Store) {
	a := newUser(t, s, "a")
	b := newUser(t, s, "b")
	first := newToken(t, s, a, "ci")

	err := s.CreateToken(ctx(t), &gatehouse.Token{UserID: a.ID, Note: "ci", Scopes: []string{}, Hash: fakeHash()})
	wantKind(t, err, gatehouse.Conflict, "CreateToken with a taken note")
	wantMsg(t, err, "note", "duplicate note")

	// The same note for another user is fine.
	newToken(t, s, b, "ci")

	err = s.CreateToken(ctx(t), &gatehouse.Token{UserID: b.ID, Note: "other", Scopes: []string{}, Hash: first.Hash})
	wantKind(t, err, gatehouse.Conflict, "CreateToken with a taken hash")
	if m := gatehouse.ErrorMessage(err); strings.Contains(m, first.Hash) {
		t.Errorf("conflict message reveals the hash: %q", m)
	}

	toks, err := s.ListTokens(ctx(t), gatehouse.TokenFilter{UserID: a.ID}, gatehouse.Page{})
	must(t, err)
	if len(toks) != 1 {
		t.Errorf("user a has %d tokens after failed creations, want 1", len(toks))
	}
}

func testUpdateToken(t *testing.T, s gatehouse.Store) {
	u := newUser(t, s, "u")
	tok := newToken(t, s, u, "old note", "repo")
	newToken(t, s, u, "taken")
	_, seq0, err := s.Invalidations(ctx(t), 0)
	must(t, err)
	time.Sleep(2 * ms)

	// Edit note and scopes.
	tok.Note = "new note"
	tok.Scopes = []string{"read:org", "repo", "user"}
	must(t, s.UpdateToken(ctx(t), tok))
	if !tok.UpdatedAt.After(tok.CreatedAt) {
		t.Errorf("UpdatedAt %v not after CreatedAt %v", tok.UpdatedAt, tok.CreatedAt)
	}
	got, err := s.FindTokenByID(ctx(t), tok.ID)
	must(t, err)
	sameToken(t, got, tok)

	// Regenerate: new hash, last eight and expiry; the old hash is dead.
	oldHash := tok.Hash
	tok.Hash = fakeHash()
	tok.LastEight = "newlast8"
	tok.ExpiresAt = time.Now().Add(7 * 24 * time.Hour)
	must(t, s.UpdateToken(ctx(t), tok))
	_, err = s.FindTokenByHash(ctx(t), oldHash)
	wantKind(t, err, gatehouse.NotFound, "FindTokenByHash of the hash before regeneration")
	got, err = s.FindTokenByHash(ctx(t), tok.Hash)
	must(t, err)
	sameToken(t, got, tok)

	// Back to no expiry and no scopes.
	tok.ExpiresAt = time.Time{}
	tok.Scopes = []string{}
	must(t, s.UpdateToken(ctx(t), tok))
	got, err = s.FindTokenByID(ctx(t), tok.ID)
	must(t, err)
	sameToken(t, got, tok)

	invs, seq, err := s.Invalidations(ctx(t), seq0)
	must(t, err)
	if len(invs) != 3 {
		t.Fatalf("UpdateToken recorded %d invalidations, want 3: %+v", len(invs), invs)
	}
	for _, inv := range invs {
		if inv.TokenID != tok.ID || inv.UserID != u.ID {
			t.Errorf("invalidation %+v, want token %d of user %d", inv, tok.ID, u.ID)
		}
	}

	tok.Note = "taken"
	wantKind(t, s.UpdateToken(ctx(t), tok), gatehouse.Conflict, "UpdateToken to a taken note")
	tok.Note = "fine"
	tok.ID += 1000
	wantKind(t, s.UpdateToken(ctx(t), tok), gatehouse.NotFound, "UpdateToken of a missing token")
	invs, _, err = s.Invalidations(ctx(t), seq)
	must(t, err)
	if len(invs) != 0 {
		t.Errorf("failed updates recorded invalidations: %+v", invs)
	}

	// A stale copy loses: an update made from what was read before
	// someone else's update is Conflict and changes nothing, so that it
	// cannot bring back an old secret (here: a regeneration, then an edit
	// from the copy read before it). Updates in the same millisecond
	// still move updated_at forward.
	tok.ID -= 1000
	fresh, err := s.FindTokenByID(ctx(t), tok.ID)
	must(t, err)
	stale := *fresh
	fresh.Hash, fresh.LastEight, fresh.RegeneratedAt = fakeHash(), "regen888", time.Now()
	must(t, s.UpdateToken(ctx(t), fresh))
	must(t, s.UpdateToken(ctx(t), fresh)) // at once: still moves forward
	stale.Note = "from a stale copy"
	wantKind(t, s.UpdateToken(ctx(t), &stale), gatehouse.Conflict, "UpdateToken from a stale copy")
	got, err = s.FindTokenByID(ctx(t), tok.ID)
	must(t, err)
	if got.Hash != fresh.Hash || got.Note == "from a stale copy" || got.RegeneratedAt.UnixMilli() != fresh.RegeneratedAt.UnixMilli() {
		t.Errorf("after a stale update: hash %s note %q regenerated %v; want hash %s, regenerated %v", got.Hash, got.Note, got.RegeneratedAt, fresh.Hash, fresh.RegeneratedAt)
	}
}

func testDeleteToken(t *testing.T, s gatehouse.Store) {
	u := newUser(t, s, "u")
	tok := newToken(t, s, u, "doomed")
	keep := newToken(t, s, u, "keep")
	_, seq0, err := s.Invalidations(ctx(t), 0)
	must(t, err)

	must(t, s.DeleteToken(ctx(t), tok.ID))
	_, err = s.FindTokenByHash(ctx(t), tok.Hash)
	wantKind(t, err, gatehouse.NotFound, "FindTokenByHash after DeleteToken")
	_, err = s.FindTokenByID(ctx(t), tok.ID)
	wantKind(t, err, gatehouse.NotFound, "FindTokenByID after DeleteToken")
	wantKind(t, s.DeleteToken(ctx(t), tok.ID), gatehouse.NotFound, "DeleteToken twice")
	if _, err := s.FindTokenByID(ctx(t), keep.ID); err != nil {
		t.Errorf("other token gone: %v", err)
	}

	invs, seq, err := s.Invalidations(ctx(t), seq0)
	must(t, err)
	if len(invs) != 1 || invs[0].TokenID != tok.ID || invs[0].UserID != u.ID || seq != invs[0].Seq {
		t.Errorf("Invalidations after DeleteToken = %+v, %d", invs, seq)
	}
	if len(invs) == 1 && time.Since(invs[0].At) > time.Minute {
		t.Errorf("invalidation At = %v, want about now", invs[0].At)
	}

	// The note is free again.
	newToken(t, s, u, "doomed")
}

func testListTokens(t *testing.T, s gatehouse.Store) {
	a := newUser(t, s, "a")
	b := newUser(t, s, "b")
	var aIDs, allIDs []int64
	for i := range 4 {
		ta := newToken(t, s, a, fmt.Sprintf("a%d", i))
		tb := newToken(t, s, b, fmt.Sprintf("b%d", i))
		aIDs = append(aIDs, ta.ID)
		allIDs = append(allIDs, ta.ID, tb.ID)
	}
	ids := func(ts []*gatehouse.Token) []int64 {
		var out []int64
		for _, t := range ts {
			out = append(out, t.ID)
		}
		return out
	}
	got, err := s.ListTokens(ctx(t), gatehouse.TokenFilter{UserID: a.ID}, gatehouse.Page{})
	must(t, err)
	if !slices.Equal(ids(got), aIDs) {
		t.Errorf("ListTokens of a = %v, want %v", ids(got), aIDs)
	}
	got, err = s.ListTokens(ctx(t), gatehouse.TokenFilter{}, gatehouse.Page{})
	must(t, err)
	if !slices.Equal(ids(got), allIDs) {
		t.Errorf("ListTokens of all = %v, want %v", ids(got), allIDs)
	}
	got, err = s.ListTokens(ctx(t), gatehouse.TokenFilter{UserID: a.ID}, gatehouse.Page{Page: 2, PerPage: 3})
	must(t, err)
	if !slices.Equal(ids(got), aIDs[3:]) {
		t.Errorf("ListTokens page 2 = %v, want %v", ids(got), aIDs[3:])
	}
	got, err = s.ListTokens(ctx(t), gatehouse.TokenFilter{UserID: b.ID + 1000}, gatehouse.Page{})
	must(t, err)
	if len(got) != 0 {
		t.Errorf("ListTokens of a missing user = %v", ids(got))
	}
}

func testRecordTokenUses(t *testing.T, s gatehouse.Store) {
	u := newUser(t, s, "u")
	t1 := newToken(t, s, u, "one")
	t2 := newToken(t, s, u, "two")
	t3 := newToken(t, s, u, "three")

	base := time.Now().Add(-time.Hour)
	must(t, s.RecordTokenUses(ctx(t), nil))
	must(t, s.RecordTokenUses(ctx(t), []gatehouse.TokenUse{
		{TokenID: t1.ID, At: base, IP: "192.0.2.1"},
		{TokenID: t2.ID, At: base.Add(time.Minute), IP: "2001:db8::2"},
		{TokenID: t3.ID + 1000, At: base, IP: "192.0.2.9"}, // deleted meanwhile: ignored
	}))
	// An older use arriving late does not move the time back; a newer one
	// moves it forward.
	must(t, s.RecordTokenUses(ctx(t), []gatehouse.TokenUse{
		{TokenID: t1.ID, At: base.Add(-time.Minute), IP: "192.0.2.99"},
		{TokenID: t2.ID, At: base.Add(2 * time.Minute), IP: "2001:db8::3"},
	}))

	check := func(tok *gatehouse.Token, at time.Time, ip string) {
		t.Helper()
		got, err := s.FindTokenByID(ctx(t), tok.ID)
		must(t, err)
		wantTime(t, got.LastUsedAt, at, "LastUsedAt of "+tok.Note)
		if got.LastUsedIP != ip {
			t.Errorf("LastUsedIP of %s = %q, want %q", tok.Note, got.LastUsedIP, ip)
		}
	}
	check(t1, base, "192.0.2.1")
	check(t2, base.Add(2*time.Minute), "2001:db8::3")
	check(t3, time.Time{}, "")
}

func testInvalidations(t *testing.T, s gatehouse.Store) {
	invs, seq, err := s.Invalidations(ctx(t), 0)
	must(t, err)
	if len(invs) != 0 || seq != 0 {
		t.Errorf("Invalidations of a fresh store = %+v, %d", invs, seq)
	}
	invs, seq, err = s.Invalidations(ctx(t), 42)
	must(t, err)
	if len(invs) != 0 || seq != 42 {
		t.Errorf("Invalidations(42) with none = %+v, %d; want none and 42", invs, seq)
	}

	u := newUser(t, s, "u")
	v := newUser(t, s, "v")
	ta := newToken(t, s, u, "a")
	tb := newToken(t, s, v, "b")
	must(t, s.DeleteToken(ctx(t), ta.ID))
	must(t, s.UpdateUser(ctx(t), v))
	must(t, s.DeleteToken(ctx(t), tb.ID))

	all, last, err := s.Invalidations(ctx(t), 0)
	must(t, err)
	type key struct{ token, user int64 }
	var got []key
	for i, inv := range all {
		got = append(got, key{inv.TokenID, inv.UserID})
		if i > 0 && inv.Seq <= all[i-1].Seq {
			t.Errorf("invalidations not in sequence order: %+v", all)
		}
	}
	want := []key{{ta.ID, u.ID}, {0, v.ID}, {tb.ID, v.ID}}
	if !slices.Equal(got, want) {
		t.Fatalf("Invalidations = %v, want %v", got, want)
	}
	if last != all[2].Seq {
		t.Errorf("newest seq = %d, want %d", last, all[2].Seq)
	}

	rest, last2, err := s.Invalidations(ctx(t), all[0].Seq)
	must(t, err)
	if len(rest) != 2 || rest[0].Seq != all[1].Seq || last2 != last {
		t.Errorf("Invalidations after the first = %+v, %d", rest, last2)
	}
	none, last3, err := s.Invalidations(ctx(t), last)
	must(t, err)
	if len(none) != 0 || last3 != last {
		t.Errorf("Invalidations after the newest = %+v, %d; want none and %d", none, last3, last)
	}
}

func testSettings(t *testing.T, s gatehouse.Store) {
	_, err := s.Setting(ctx(t), "setup.secret")
	wantKind(t, err, gatehouse.NotFound, "Setting never set")

	must(t, s.SetSetting(ctx(t), "setup.secret", "one"))
	must(t, s.SetSetting(ctx(t), "site.name", "Gatehouse"))
	v, err := s.Setting(ctx(t), "setup.secret")
	must(t, err)
	if v != "one" {
		t.Errorf("Setting = %q, want one", v)
	}
	must(t, s.SetSetting(ctx(t), "setup.secret", "two"))
	v, err = s.Setting(ctx(t), "setup.secret")
	must(t, err)
	if v != "two" {
		t.Errorf("Setting after overwrite = %q, want two", v)
	}
	must(t, s.SetSetting(ctx(t), "empty", ""))
	v, err = s.Setting(ctx(t), "empty")
	must(t, err)
	if v != "" {
		t.Errorf("empty setting = %q", v)
	}

	ok, err := s.DeleteSetting(ctx(t), "setup.secret")
	must(t, err)
	if !ok {
		t.Error("DeleteSetting of a present setting = false")
	}
	ok, err = s.DeleteSetting(ctx(t), "setup.secret")
	must(t, err)
	if ok {
		t.Error("DeleteSetting twice = true")
	}
	_, err = s.Setting(ctx(t), "setup.secret")
	wantKind(t, err, gatehouse.NotFound, "Setting after DeleteSetting")
	if v, err := s.Setting(ctx(t), "site.name"); err != nil || v != "Gatehouse" {
		t.Errorf("other setting = %q, %v", v, err)
	}

	// Single use under contention: exactly one winner.
	for round := range 5 {
		key := fmt.Sprintf("race.%d", round)
		must(t, s.SetSetting(ctx(t), key, "secret"))
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins int
		)
		for range 4 {
			wg.Go(func() {
				ok, err := s.DeleteSetting(ctx(t), key)
				if err != nil {
					t.Errorf("DeleteSetting: %v", err)
					return
				}
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("round %d: %d concurrent DeleteSetting callers got true, want 1", round, wins)
		}
	}
}

func testConcurrentTokens(t *testing.T, s gatehouse.Store) {
	u := newUser(t, s, "busy")
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			h := fakeHash()
			tok := &gatehouse.Token{
				UserID: u.ID, Note: fmt.Sprintf("parallel %d", i),
				Scopes: []string{"repo"}, Hash: h, LastEight: h[56:],
			}
			if err := s.CreateToken(ctx(t), tok); err != nil {
				t.Errorf("CreateToken %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	toks, err := s.ListTokens(ctx(t), gatehouse.TokenFilter{UserID: u.ID}, gatehouse.Page{})
	must(t, err)
	if len(toks) != n {
		t.Errorf("%d tokens after %d concurrent creations", len(toks), n)
	}
}
