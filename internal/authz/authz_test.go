package authz

import (
	"testing"

	"github.com/gatehouse/gatehouse"
)

func TestRepo(t *testing.T) {
	alice := &gatehouse.User{ID: 1, Login: "alice"}
	tok := func(scopes ...string) *gatehouse.Actor {
		return &gatehouse.Actor{User: alice, Token: &gatehouse.Token{Scopes: scopes}}
	}
	session := &gatehouse.Actor{User: alice}
	private := &gatehouse.Repo{Owner: "bob", Name: "p", Private: true}
	public := &gatehouse.Repo{Owner: "bob", Name: "o"}
	const (
		ok     = -1
		unauth = gatehouse.Unauthenticated
		nf     = gatehouse.NotFound
		forb   = gatehouse.Forbidden
	)
	tests := []struct {
		name    string
		actor   *gatehouse.Actor
		repo    *gatehouse.Repo
		perm    gatehouse.Permission
		action  Action
		private bool
		want    gatehouse.Kind
	}{
		{"anonymous reads public", nil, public, gatehouse.PermRead, Read, false, ok},
		{"anonymous in private mode", nil, public, gatehouse.PermRead, Read, true, unauth},
		{"anonymous pushes public", nil, public, gatehouse.PermRead, Write, false, unauth},
		{"anonymous reads private", nil, private, gatehouse.PermNone, Read, false, unauth},
		{"anonymous reads missing", nil, nil, gatehouse.PermNone, Read, false, unauth},
		{"token reads missing", tok("repo"), nil, gatehouse.PermNone, Read, false, nf},
		{"no scopes read public", tok(), public, gatehouse.PermRead, Read, false, ok},
		{"no scopes read own private", tok(), private, gatehouse.PermAdmin, Read, false, nf},
		{"no scopes push public", tok(), public, gatehouse.PermAdmin, Write, false, forb},
		{"public_repo push public", tok("public_repo"), public, gatehouse.PermWrite, Write, false, ok},
		{"public_repo read private", tok("public_repo"), private, gatehouse.PermWrite, Read, false, nf},
		{"repo read private without role", tok("repo"), private, gatehouse.PermNone, Read, false, nf},
		{"repo read private collaborator", tok("repo"), private, gatehouse.PermRead, Read, false, ok},
		{"repo push private read-only", tok("repo"), private, gatehouse.PermRead, Write, false, forb},
		{"repo push private writer", tok("repo"), private, gatehouse.PermWrite, Write, false, ok},
		{"repo push public read-only", tok("repo"), public, gatehouse.PermRead, Write, false, forb},
		{"admin needs admin role", tok("repo"), private, gatehouse.PermWrite, Admin, false, forb},
		{"admin with admin role", tok("repo"), private, gatehouse.PermAdmin, Admin, false, ok},
		{"admin on public needs repo", tok("public_repo"), public, gatehouse.PermAdmin, Admin, false, forb},
		{"unrelated scopes", tok("gist", "read:org", "user"), private, gatehouse.PermAdmin, Read, false, nf},
		{"session carries every scope", session, private, gatehouse.PermWrite, Write, false, ok},
		{"session without role", session, private, gatehouse.PermNone, Read, false, nf},
		{"system reads private", gatehouse.SystemActor(), private, gatehouse.PermAdmin, Admin, false, ok},
		{"system in private mode", gatehouse.SystemActor(), public, gatehouse.PermAdmin, Read, true, ok},
		{"system on missing", gatehouse.SystemActor(), nil, gatehouse.PermNone, Read, false, nf},
		{"anonymous actor with address", gatehouse.AnonymousActor("192.0.2.1"), private, gatehouse.PermNone, Read, false, unauth},
		{"suspended user", &gatehouse.Actor{User: &gatehouse.User{ID: 1, Login: "alice", Suspended: true}}, public, gatehouse.PermAdmin, Read, false, forb},
		{"signed-in in private mode", tok(), public, gatehouse.PermRead, Read, true, ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Repo(tt.actor, tt.repo, tt.perm, tt.action.Need(), nil, tt.private)
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

func TestRepoForbiddenNamesUser(t *testing.T) {
	a := &gatehouse.Actor{User: &gatehouse.User{Login: "bob"}, Token: &gatehouse.Token{Scopes: []string{"repo"}}}
	err := Repo(a, &gatehouse.Repo{Owner: "alice", Name: "x", Private: true}, gatehouse.PermRead, Write.Need(), nil, false)
	if got, want := gatehouse.ErrorMessage(err), "Permission to alice/x.git denied to bob."; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
}
