package authz

import (
	"testing"

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
		{"anonymous creates repo", func() error { return CreateRepo(anon, alice, false) }, unauth},
		{"owner session creates private", func() error { return CreateRepo(session(alice), alice, true) }, ok},
		{"public_repo token creates public", func() error { return CreateRepo(tok(alice, 1, "public_repo"), alice, false) }, ok},
		{"public_repo token creates private", func() error { return CreateRepo(tok(alice, 1, "public_repo"), alice, true) }, forb},
		{"no-scope token creates public", func() error { return CreateRepo(tok(alice, 1), alice, false) }, forb},
		{"repo token creates private", func() error { return CreateRepo(tok(alice, 1, "repo"), alice, true) }, ok},
		{"user creates for another", func() error { return CreateRepo(session(bob), alice, false) }, forb},
		{"site admin creates for another", func() error { return CreateRepo(session(root), alice, false) }, forb},
		{"system creates for anyone", func() error { return CreateRepo(system, alice, true) }, ok},
		{"suspended creates", func() error { return CreateRepo(session(frozen), frozen, false) }, forb},

		// Collaborators: admin role on the repository, never the owner.
		{"owner adds bob", func() error { return SetCollaborator(session(alice), aliceRepo, gatehouse.PermAdmin, bob, false) }, ok},
		{"owner adds self", func() error { return SetCollaborator(session(alice), aliceRepo, gatehouse.PermAdmin, alice, false) }, inv},
		{"system adds owner", func() error { return SetCollaborator(system, aliceRepo, gatehouse.PermAdmin, alice, false) }, inv},
		{"system adds bob", func() error { return SetCollaborator(system, aliceRepo, gatehouse.PermAdmin, bob, false) }, ok},
		{"writer adds", func() error { return SetCollaborator(tok(bob, 2, "repo"), aliceRepo, gatehouse.PermWrite, root, false) }, forb},
		{"stranger adds", func() error { return SetCollaborator(session(bob), aliceRepo, gatehouse.PermNone, root, false) }, nf},
		{"site admin adds", func() error { return SetCollaborator(session(root), aliceRepo, gatehouse.PermNone, bob, false) }, nf},

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
		{"owner token without repo", &gatehouse.Actor{User: alice, Token: &gatehouse.Token{Scopes: []string{"read:org"}}}, false, gatehouse.RepoFilter{OwnerID: 1, PublicOnly: true}, -1},
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
			if err != nil || f != tt.want {
				t.Fatalf("got %+v, %v; want %+v", f, err, tt.want)
			}
		})
	}
}
