package authz

import (
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// TestRules is the one table of actor × operation → outcome for every
// rule but Repo (TestRepo): who may see users and listings, create
// repositories and accounts, change accounts, manage and revoke tokens,
// read audit logs, manage keys and collaborators, administer the site.
func TestRules(t *testing.T) {
	alice := &gatehouse.User{ID: 1, Login: "alice"}
	bob := &gatehouse.User{ID: 2, Login: "bob"}
	root := &gatehouse.User{ID: 3, Login: "root", SiteAdmin: true}
	frozen := &gatehouse.User{ID: 4, Login: "frozen", Suspended: true}
	session := func(u *gatehouse.User) *gatehouse.Actor { return &gatehouse.Actor{User: u, IP: "192.0.2.1"} }
	tok := func(u *gatehouse.User, id int64, scopes ...string) *gatehouse.Actor {
		return &gatehouse.Actor{User: u, Token: &gatehouse.Token{ID: id, UserID: u.ID, Scopes: scopes}}
	}
	var (
		anon   = gatehouse.AnonymousActor("192.0.2.9")
		system = gatehouse.SystemActor()
	)
	aliceRepo := &gatehouse.Repo{ID: 10, OwnerID: alice.ID, Owner: "alice", Name: "x", Private: true}
	const (
		ok     = -1
		unauth = gatehouse.Unauthenticated
		nf     = gatehouse.NotFound
		forb   = gatehouse.Forbidden
		inv    = gatehouse.Invalid
	)
	tests := []struct {
		name  string
		check func() error
		want  gatehouse.Kind
	}{
		// Seeing users and listings.
		{"anonymous sees users", func() error { return SeeUsers(anon, false) }, ok},
		{"anonymous in private mode", func() error { return SeeUsers(anon, true) }, unauth},
		{"nil actor in private mode", func() error { return SeeUsers(nil, true) }, unauth},
		{"user in private mode", func() error { return SeeUsers(session(bob), true) }, ok},
		{"suspended user", func() error { return SeeUsers(session(frozen), false) }, forb},
		{"system in private mode", func() error { return SeeUsers(system, true) }, ok},

		// Creating repositories.
		{"anonymous creates repo", func() error { return CreateRepo(anon, alice, "", false) }, unauth},
		{"owner session creates private", func() error { return CreateRepo(session(alice), alice, "", true) }, ok},
		{"public_repo token creates public", func() error { return CreateRepo(tok(alice, 1, "public_repo"), alice, "", false) }, ok},
		{"public_repo token creates private", func() error { return CreateRepo(tok(alice, 1, "public_repo"), alice, "", true) }, forb},
		{"no-scope token creates public", func() error { return CreateRepo(tok(alice, 1), alice, "", false) }, forb},
		{"repo token creates private", func() error { return CreateRepo(tok(alice, 1, "repo"), alice, "", true) }, ok},
		{"user creates for another", func() error { return CreateRepo(session(bob), alice, "", false) }, forb},
		{"site admin creates for another", func() error { return CreateRepo(session(root), alice, "", false) }, forb},
		{"system creates for anyone", func() error { return CreateRepo(system, alice, "", true) }, ok},
		{"suspended creates", func() error { return CreateRepo(session(frozen), frozen, "", false) }, forb},

		// Collaborators: admin role on the repository, never the owner.
		{"owner adds bob", func() error { return SetCollaborator(session(alice), aliceRepo, gatehouse.PermAdmin, nil, bob, false) }, ok},
		{"owner adds self", func() error {
			return SetCollaborator(session(alice), aliceRepo, gatehouse.PermAdmin, nil, alice, false)
		}, inv},
		{"system adds owner", func() error { return SetCollaborator(system, aliceRepo, gatehouse.PermAdmin, nil, alice, false) }, inv},
		{"system adds bob", func() error { return SetCollaborator(system, aliceRepo, gatehouse.PermAdmin, nil, bob, false) }, ok},
		{"writer adds", func() error {
			return SetCollaborator(tok(bob, 2, "repo"), aliceRepo, gatehouse.PermWrite, nil, root, false)
		}, forb},
		{"stranger adds", func() error { return SetCollaborator(session(bob), aliceRepo, gatehouse.PermNone, nil, root, false) }, nf},
		{"site admin adds", func() error { return SetCollaborator(session(root), aliceRepo, gatehouse.PermNone, nil, bob, false) }, nf},

		// Site administration.
		{"anonymous administers", func() error { return SiteAdmin(anon) }, unauth},
		{"user administers", func() error { return SiteAdmin(session(bob)) }, forb},
		{"admin session", func() error { return SiteAdmin(session(root)) }, ok},
		{"admin token with site_admin", func() error { return SiteAdmin(tok(root, 3, "site_admin")) }, ok},
		{"admin token without site_admin", func() error { return SiteAdmin(tok(root, 3, "repo")) }, forb},
		{"user token with site_admin", func() error { return SiteAdmin(tok(bob, 2, "site_admin")) }, forb},
		{"suspended admin", func() error { return SiteAdmin(session(&gatehouse.User{ID: 5, SiteAdmin: true, Suspended: true})) }, forb},
		{"system administers", func() error { return SiteAdmin(system) }, ok},
		{"user creates accounts", func() error { return CreateUser(session(bob)) }, forb},
		{"admin creates accounts", func() error { return CreateUser(session(root)) }, ok},

		// Account changes.
		{"admin suspends bob", func() error { return ChangeUser(session(root), bob, Suspend) }, ok},
		{"admin suspends self", func() error { return ChangeUser(session(root), root, Suspend) }, forb},
		{"admin demotes self", func() error { return ChangeUser(session(root), root, Demote) }, forb},
		{"admin promotes self", func() error { return ChangeUser(session(root), root, Promote) }, ok},
		{"user suspends bob", func() error { return ChangeUser(session(alice), bob, Suspend) }, forb},
		{"system demotes root", func() error { return ChangeUser(system, root, Demote) }, ok},
		{"own profile in session", func() error { return EditProfile(session(alice), alice.ID) }, ok},
		{"own profile with user scope", func() error { return EditProfile(tok(alice, 1, "user"), alice.ID) }, ok},
		{"own profile without user scope", func() error { return EditProfile(tok(alice, 1, "repo"), alice.ID) }, forb},
		{"someone else's profile", func() error { return EditProfile(session(root), alice.ID) }, nf},

		// Tokens: a user manages their own in a browser session only.
		{"own tokens in session", func() error { return ManageTokens(session(alice), alice.ID) }, ok},
		{"own tokens with a token", func() error { return ManageTokens(tok(alice, 1, "repo", "user"), alice.ID) }, nf},
		{"someone else's tokens", func() error { return ManageTokens(session(bob), alice.ID) }, nf},
		{"site admin manages others' tokens", func() error { return ManageTokens(session(root), alice.ID) }, nf},
		{"system manages tokens", func() error { return ManageTokens(system, alice.ID) }, ok},
		{"anonymous manages tokens", func() error { return ManageTokens(anon, alice.ID) }, unauth},
		{"admin lists all tokens", func() error { return ListAllTokens(session(root)) }, ok},
		{"user lists all tokens", func() error { return ListAllTokens(session(alice)) }, forb},

		// Audit logs.
		{"own security log", func() error { return ViewAuditLog(session(alice), alice.ID) }, ok},
		{"own security log with a token", func() error { return ViewAuditLog(tok(alice, 1, "user"), alice.ID) }, nf},
		{"someone else's log", func() error { return ViewAuditLog(session(bob), alice.ID) }, nf},
		{"whole log as user", func() error { return ViewAuditLog(session(alice), 0) }, nf},
		{"whole log as admin", func() error { return ViewAuditLog(session(root), 0) }, ok},
		{"someone's log as admin", func() error { return ViewAuditLog(session(root), alice.ID) }, ok},
		{"log as system", func() error { return ViewAuditLog(system, 0) }, ok},

		// Keys.
		{"own keys", func() error { return ManageKeys(tok(alice, 1, "write:public_key"), alice.ID) }, ok},
		{"someone else's keys", func() error { return ManageKeys(session(root), alice.ID) }, nf},
		{"anonymous keys", func() error { return ManageKeys(anon, alice.ID) }, unauth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check()
			if tt.want == ok {
				if err != nil {
					t.Fatalf("want allowed, got %v", err)
				}
				return
			}
			if err == nil || gatehouse.ErrorKind(err) != tt.want {
				t.Fatalf("want %v, got %v", tt.want, err)
			}
		})
	}
}

// TestRevokeToken checks who may delete a token and which audit action
// follows from the actor.
func TestRevokeToken(t *testing.T) {
	alice := &gatehouse.User{ID: 1, Login: "alice"}
	root := &gatehouse.User{ID: 3, Login: "root", SiteAdmin: true}
	target := &gatehouse.Token{ID: 100, UserID: alice.ID}
	tests := []struct {
		name   string
		actor  *gatehouse.Actor
		action gatehouse.AuditAction
		kind   gatehouse.Kind
	}{
		{"owner in session", &gatehouse.Actor{User: alice}, gatehouse.AuditTokenDelete, -1},
		{"owner with another token", &gatehouse.Actor{User: alice, Token: &gatehouse.Token{ID: 7, Scopes: []string{"repo"}}}, "", gatehouse.NotFound},
		{"token deletes itself", &gatehouse.Actor{User: root, Token: &gatehouse.Token{ID: 100, Scopes: []string{"site_admin"}}}, "", gatehouse.Forbidden},
		{"site admin session", &gatehouse.Actor{User: root}, gatehouse.AuditTokenAdminRevoke, -1},
		{"site admin token", &gatehouse.Actor{User: root, Token: &gatehouse.Token{ID: 8, Scopes: []string{"site_admin"}}}, gatehouse.AuditTokenAdminRevoke, -1},
		{"site admin token without site_admin", &gatehouse.Actor{User: root, Token: &gatehouse.Token{ID: 8, Scopes: []string{"repo"}}}, "", gatehouse.NotFound},
		{"system", gatehouse.SystemActor(), gatehouse.AuditTokenAdminRevoke, -1},
		{"stranger", &gatehouse.Actor{User: &gatehouse.User{ID: 9}}, "", gatehouse.NotFound},
		{"anonymous", nil, "", gatehouse.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			action, err := RevokeToken(tt.actor, target)
			if tt.kind == -1 {
				if err != nil || action != tt.action {
					t.Fatalf("got %q, %v; want %q", action, err, tt.action)
				}
				return
			}
			if gatehouse.ErrorKind(err) != tt.kind || err == nil {
				t.Fatalf("got %q, %v; want kind %v", action, err, tt.kind)
			}
		})
	}
}

// TestListRepos checks the listing filter: a list can never show what the
// page refuses, and being a site admin opens nothing.
func TestListRepos(t *testing.T) {
	alice := &gatehouse.User{ID: 1, Login: "alice"}
	root := &gatehouse.User{ID: 3, Login: "root", SiteAdmin: true}
	tests := []struct {
		name    string
		actor   *gatehouse.Actor
		private bool
		want    gatehouse.RepoFilter
		kind    gatehouse.Kind
	}{
		{"anonymous", nil, false, gatehouse.RepoFilter{OwnerID: 1, PublicOnly: true}, -1},
		{"anonymous in private mode", gatehouse.AnonymousActor("::1"), true, gatehouse.RepoFilter{}, gatehouse.Unauthenticated},
		{"owner", &gatehouse.Actor{User: alice}, false, gatehouse.RepoFilter{OwnerID: 1}, -1},
		{"owner token without repo", &gatehouse.Actor{User: alice, Token: &gatehouse.Token{Scopes: []string{"read:org"}}}, false,
			gatehouse.RepoFilter{OwnerID: 1, PublicOnly: true, TokenKindSet: true, TokenLifetime: -1}, -1},
		{"fine-grained token selecting one", &gatehouse.Actor{User: alice, Token: &gatehouse.Token{Kind: gatehouse.FineGrainedToken, TargetID: 1,
			Repos: gatehouse.SelectedRepos, RepoIDs: []int64{7}, CreatedAt: time.Unix(0, 0), ExpiresAt: time.Unix(0, 0).Add(30 * 24 * time.Hour)}}, false,
			gatehouse.RepoFilter{OwnerID: 1, LimitPrivate: true, PrivateOwnerID: 1, PrivateIDs: []int64{7},
				TokenKind: gatehouse.FineGrainedToken, TokenKindSet: true, TokenLifetime: 30}, -1},
		{"site admin", &gatehouse.Actor{User: root}, false, gatehouse.RepoFilter{OwnerID: 1, VisibleTo: 3}, -1},
		{"system", gatehouse.SystemActor(), true, gatehouse.RepoFilter{OwnerID: 1}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ListRepos(tt.actor, alice, tt.private)
			if tt.kind != -1 {
				if gatehouse.ErrorKind(err) != tt.kind || err == nil {
					t.Fatalf("got %v, want kind %v", err, tt.kind)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(f, tt.want) {
				t.Fatalf("got %+v, %v; want %+v", f, err, tt.want)
			}
		})
	}
}

// TestRoleResolution is the person × path to access table of §9: the
// highest of owning the account, owning the organization, a direct
// grant, each team grant and the base permission; site admins get no
// implicit access. TestRepo then limits the role by the token.
func TestRoleResolution(t *testing.T) {
	alice := &gatehouse.User{ID: 1, Login: "alice"}
	root := &gatehouse.User{ID: 3, Login: "root", SiteAdmin: true}
	org := &gatehouse.User{ID: 50, Login: "acme", IsOrg: true}
	private := &gatehouse.Repo{ID: 10, OwnerID: org.ID, Owner: "acme", Name: "p", Private: true}
	public := &gatehouse.Repo{ID: 11, OwnerID: org.ID, Owner: "acme", Name: "o"}
	own := &gatehouse.Repo{ID: 12, OwnerID: alice.ID, Owner: "alice", Name: "mine", Private: true}
	me := &gatehouse.Actor{User: alice}
	type g = gatehouse.Grants
	tests := []struct {
		name   string
		actor  *gatehouse.Actor
		repo   *gatehouse.Repo
		grants gatehouse.Grants
		want   gatehouse.Permission
	}{
		{"account owner", me, own, g{}, gatehouse.PermAdmin},
		{"org owner", me, private, g{OrgRole: gatehouse.OrgOwner, Base: gatehouse.PermNone}, gatehouse.PermAdmin},
		{"member, base read", me, private, g{OrgRole: gatehouse.OrgMember, Base: gatehouse.PermRead}, gatehouse.PermRead},
		{"member, base none", me, private, g{OrgRole: gatehouse.OrgMember, Base: gatehouse.PermNone}, gatehouse.PermNone},
		{"member, base none, public", me, public, g{OrgRole: gatehouse.OrgMember, Base: gatehouse.PermNone}, gatehouse.PermRead},
		{"member, base write", me, private, g{OrgRole: gatehouse.OrgMember, Base: gatehouse.PermWrite}, gatehouse.PermWrite},
		{"team push beats base read", me, private, g{OrgRole: gatehouse.OrgMember, Base: gatehouse.PermRead, Team: gatehouse.PermWrite}, gatehouse.PermWrite},
		{"base admin beats team pull", me, private, g{OrgRole: gatehouse.OrgMember, Base: gatehouse.PermAdmin, Team: gatehouse.PermRead}, gatehouse.PermAdmin},
		{"collaborator beats team", me, private, g{OrgRole: gatehouse.OrgMember, Collaborator: gatehouse.PermAdmin, Team: gatehouse.PermRead}, gatehouse.PermAdmin},
		{"outside collaborator", me, private, g{Collaborator: gatehouse.PermWrite}, gatehouse.PermWrite},
		{"base does not reach outsiders", me, private, g{Base: gatehouse.PermAdmin}, gatehouse.PermNone},
		{"outsider, public", me, public, g{}, gatehouse.PermRead},
		{"outsider, private", me, private, g{}, gatehouse.PermNone},
		{"site admin outsider", &gatehouse.Actor{User: root}, private, g{}, gatehouse.PermNone},
		{"anonymous, public", nil, public, g{}, gatehouse.PermRead},
		{"anonymous ignores grants", nil, private, g{Collaborator: gatehouse.PermAdmin}, gatehouse.PermNone},
		{"system", gatehouse.SystemActor(), private, g{}, gatehouse.PermAdmin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Role(tt.actor, tt.repo, tt.grants); got != tt.want {
				t.Fatalf("Role = %v, want %v", got, tt.want)
			}
		})
	}
	// The token then limits the role: a team push grant with a token
	// lacking repo reads nothing private, and a suspended member nothing.
	teamPush := Role(me, private, g{OrgRole: gatehouse.OrgMember, Team: gatehouse.PermWrite})
	noRepo := &gatehouse.Actor{User: alice, Token: &gatehouse.Token{Scopes: []string{"read:org"}}}
	if err := Repo(noRepo, private, teamPush, Read.Need(), nil, false); !gatehouse.IsKind(err, gatehouse.NotFound) {
		t.Fatalf("team grant through a token without repo: %v", err)
	}
	withRepo := &gatehouse.Actor{User: alice, Token: &gatehouse.Token{Scopes: []string{"repo"}}}
	if err := Repo(withRepo, private, teamPush, Write.Need(), nil, false); err != nil {
		t.Fatalf("team push with repo scope: %v", err)
	}
	if err := Repo(withRepo, private, Role(withRepo, private, g{OrgRole: gatehouse.OrgMember, Team: gatehouse.PermRead}), Write.Need(), nil, false); !gatehouse.IsKind(err, gatehouse.Forbidden) {
		t.Fatalf("team pull pushing: %v", err)
	}
	frozen := &gatehouse.Actor{User: &gatehouse.User{ID: 9, Suspended: true}}
	if err := Repo(frozen, private, Role(frozen, private, g{OrgRole: gatehouse.OrgOwner}), Read.Need(), nil, false); !gatehouse.IsKind(err, gatehouse.Forbidden) {
		t.Fatalf("suspended owner: %v", err)
	}
}

// TestOrgRules covers who may create, see and manage organizations and
// teams.
func TestOrgRules(t *testing.T) {
	alice := &gatehouse.User{ID: 1, Login: "alice"}
	bob := &gatehouse.User{ID: 2, Login: "bob"}
	root := &gatehouse.User{ID: 3, Login: "root", SiteAdmin: true}
	session := func(u *gatehouse.User) *gatehouse.Actor { return &gatehouse.Actor{User: u} }
	tok := func(u *gatehouse.User, scopes ...string) *gatehouse.Actor {
		return &gatehouse.Actor{User: u, Token: &gatehouse.Token{ID: 5, UserID: u.ID, Scopes: scopes}}
	}
	org := &gatehouse.User{ID: 50, Login: "acme", IsOrg: true}
	secret := &gatehouse.Team{ID: 1, OrgID: org.ID, Slug: "s", Privacy: "secret"}
	closed := &gatehouse.Team{ID: 2, OrgID: org.ID, Slug: "c", Privacy: "closed"}
	const (
		ok   = -1
		nf   = gatehouse.NotFound
		forb = gatehouse.Forbidden
		inv  = gatehouse.Invalid
	)
	owner, member := gatehouse.OrgOwner, gatehouse.OrgMember
	tests := []struct {
		name  string
		check func() error
		want  gatehouse.Kind
	}{
		{"user creates org in the web UI", func() error { return CreateOrg(session(alice), true) }, ok},
		{"user creates org when only admins may", func() error { return CreateOrg(session(alice), false) }, forb},
		{"user token creates org", func() error { return CreateOrg(tok(alice, "admin:org"), true) }, forb},
		{"admin token creates org", func() error { return CreateOrg(tok(root, "site_admin"), false) }, ok},
		{"system creates org", func() error { return CreateOrg(gatehouse.SystemActor(), false) }, ok},
		{"anonymous creates org", func() error { return CreateOrg(nil, true) }, gatehouse.Unauthenticated},
		{"member creates org repo", func() error { return CreateRepo(tok(alice, "repo"), org, member, true) }, ok},
		{"outsider creates org repo", func() error { return CreateRepo(tok(bob, "repo"), org, "", false) }, forb},
		{"site admin creates org repo", func() error { return CreateRepo(session(root), org, "", false) }, forb},

		{"owner edits org", func() error { return EditOrg(session(alice), owner) }, ok},
		{"owner token edits without admin:org", func() error { return EditOrg(tok(alice, "write:org"), owner) }, forb},
		{"owner token edits with admin:org", func() error { return EditOrg(tok(alice, "admin:org"), owner) }, ok},
		{"member edits org", func() error { return EditOrg(session(bob), member) }, forb},
		{"outsider edits org", func() error { return EditOrg(session(bob), "") }, nf},
		{"site admin edits org", func() error { return EditOrg(session(root), "") }, nf},
		{"owner adds members with write:org", func() error { return ManageMembers(tok(alice, "write:org"), owner) }, ok},
		{"owner adds members with read:org", func() error { return ManageMembers(tok(alice, "read:org"), owner) }, forb},
		{"admin:org implies write:org", func() error { return ManageMembers(tok(alice, "admin:org"), owner) }, ok},
		{"member leaves", func() error { return RemoveMember(session(bob), member, bob) }, ok},
		{"member removes another", func() error { return RemoveMember(session(bob), member, alice) }, forb},
		{"last owner kept", func() error { return KeepOwner(1, true) }, inv},
		{"second owner may go", func() error { return KeepOwner(2, true) }, ok},
		{"owner manages teams", func() error { return ManageTeams(tok(alice, "admin:org"), owner) }, ok},
		{"member manages teams", func() error { return ManageTeams(tok(bob, "admin:org"), member) }, forb},
		{"maintainer manages its members", func() error { return ManageTeamMembers(tok(bob, "write:org"), member, gatehouse.TeamMaintainer) }, ok},
		{"team member manages members", func() error { return ManageTeamMembers(session(bob), member, gatehouse.TeamMember) }, forb},
		{"team member leaves", func() error { return RemoveTeamMember(session(bob), member, gatehouse.TeamMember, bob) }, ok},
		{"team member leaves with read:org", func() error { return RemoveTeamMember(tok(bob, "read:org"), member, gatehouse.TeamMember, bob) }, forb},
		{"team member removes another", func() error { return RemoveTeamMember(session(bob), member, gatehouse.TeamMember, alice) }, forb},
		{"maintainer removes a member", func() error { return RemoveTeamMember(tok(bob, "write:org"), member, gatehouse.TeamMaintainer, alice) }, ok},
		{"owner removes a member", func() error { return RemoveTeamMember(session(alice), owner, "", bob) }, ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check()
			if tt.want == ok {
				if err != nil {
					t.Fatalf("want allowed, got %v", err)
				}
				return
			}
			if err == nil || gatehouse.ErrorKind(err) != tt.want {
				t.Fatalf("want %v, got %v", tt.want, err)
			}
		})
	}
	see := []struct {
		name  string
		got   bool
		wants bool
	}{
		{"member sees members", SeeMembers(session(bob), member), true},
		{"member token without read:org", SeeMembers(tok(bob, "repo"), member), false},
		{"member token with read:org", SeeMembers(tok(bob, "read:org"), member), true},
		{"outsider sees no members", SeeMembers(session(root), ""), false},
		{"member sees closed team", SeeTeam(session(bob), member, closed, ""), true},
		{"member does not see secret team", SeeTeam(session(bob), member, secret, ""), false},
		{"secret team's member sees it", SeeTeam(session(bob), member, secret, gatehouse.TeamMember), true},
		{"owner sees secret team", SeeTeam(session(alice), owner, secret, ""), true},
		{"outsider sees no team", SeeTeam(session(root), "", closed, ""), false},
	}
	for _, s := range see {
		if s.got != s.wants {
			t.Errorf("%s: got %v", s.name, s.got)
		}
	}
}
