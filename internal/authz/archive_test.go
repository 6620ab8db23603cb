package authz

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// TestArchived is the table of actor × operation → outcome on an archived
// repository: reading and administering it are as before, writing to it
// is Forbidden with ErrArchived for everyone who could otherwise write,
// and those who could not are refused as before (a stranger still learns
// nothing about a private repository).
func TestArchived(t *testing.T) {
	alice := &gatehouse.User{ID: 1, Login: "alice"}
	bob := &gatehouse.User{ID: 2, Login: "bob"}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pub := &gatehouse.Repo{ID: 10, OwnerID: 1, Owner: "alice", Name: "old", ArchivedAt: at}
	priv := &gatehouse.Repo{ID: 11, OwnerID: 1, Owner: "alice", Name: "secret", Private: true, ArchivedAt: at}
	live := &gatehouse.Repo{ID: 12, OwnerID: 1, Owner: "alice", Name: "live"}
	session := func(u *gatehouse.User) *gatehouse.Actor { return &gatehouse.Actor{User: u} }
	classic := func(u *gatehouse.User, scopes ...string) *gatehouse.Actor {
		return &gatehouse.Actor{User: u, Token: &gatehouse.Token{ID: 5, UserID: u.ID, Scopes: scopes}}
	}
	fine := &gatehouse.Actor{User: alice, Token: &gatehouse.Token{ID: 6, UserID: 1, Kind: gatehouse.FineGrainedToken,
		TargetID: 1, Repos: gatehouse.AllRepos, Permissions: map[string]int{"contents": 2, "administration": 2}}}
	deployKey := func(readOnly bool) *gatehouse.Actor {
		return &gatehouse.Actor{DeployKey: &gatehouse.DeployKey{ID: 7, RepoID: pub.ID, Title: "ci", ReadOnly: readOnly}}
	}
	listCollaborators := Need{Action: Write, Perm: MetadataRead}
	const (
		ok       = "ok"
		isArch   = "archived"
		denied   = "denied"
		nf       = "not found"
		unauthed = "unauthenticated"
	)
	tests := []struct {
		name  string
		actor *gatehouse.Actor
		repo  *gatehouse.Repo
		role  gatehouse.Permission
		need  Need
		want  string
	}{
		{"owner reads", session(alice), pub, gatehouse.PermAdmin, Read.Need(), ok},
		{"anonymous clones public", gatehouse.AnonymousActor("192.0.2.1"), pub, gatehouse.PermRead, Read.Need(), ok},
		{"owner pushes", session(alice), pub, gatehouse.PermAdmin, Write.Need(), isArch},
		{"owner token pushes", classic(alice, "repo"), priv, gatehouse.PermAdmin, Write.Need(), isArch},
		{"owner administers", classic(alice, "repo"), pub, gatehouse.PermAdmin, Admin.Need(), ok},
		{"writer pushes", classic(bob, "public_repo"), pub, gatehouse.PermWrite, Write.Need(), isArch},
		{"writer lists collaborators", classic(bob, "repo"), pub, gatehouse.PermWrite, listCollaborators, ok},
		{"reader pushes", classic(bob, "repo"), pub, gatehouse.PermRead, Write.Need(), denied},
		{"token without scope pushes", classic(alice), pub, gatehouse.PermAdmin, Write.Need(), denied},
		{"stranger pushes to private", session(bob), priv, gatehouse.PermNone, Write.Need(), nf},
		{"anonymous pushes", gatehouse.AnonymousActor("192.0.2.1"), pub, gatehouse.PermRead, Write.Need(), unauthed},
		{"fine-grained pushes", fine, priv, gatehouse.PermAdmin, Write.Need(), isArch},
		{"fine-grained administers", fine, priv, gatehouse.PermAdmin, Admin.Need(), ok},
		{"deploy key pushes", deployKey(false), pub, gatehouse.PermWrite, Write.Need(), isArch},
		{"read-only deploy key pushes", deployKey(true), pub, gatehouse.PermRead, Write.Need(), denied},
		{"deploy key fetches", deployKey(false), pub, gatehouse.PermWrite, Read.Need(), ok},
		{"system writes", gatehouse.SystemActor(), pub, gatehouse.PermAdmin, Write.Need(), ok},
		{"owner pushes to a live repository", session(alice), live, gatehouse.PermAdmin, Write.Need(), ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Repo(tt.actor, tt.repo, tt.role, tt.need, nil, false)
			got := ok
			switch {
			case err == nil:
			case errors.Is(err, ErrArchived):
				got = isArch
				if gatehouse.ErrorKind(err) != gatehouse.Forbidden || gatehouse.ErrorMessage(err) != MsgArchived {
					t.Errorf("archived refusal: kind %v, message %q", gatehouse.ErrorKind(err), gatehouse.ErrorMessage(err))
				}
			case gatehouse.IsKind(err, gatehouse.Forbidden):
				got = denied
			case gatehouse.IsKind(err, gatehouse.NotFound):
				got = nf
			case gatehouse.IsKind(err, gatehouse.Unauthenticated):
				got = unauthed
			default:
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got %s (%v), want %s", got, err, tt.want)
			}
		})
	}
	if err := DeployKeyRepo(deployKey(false), pub, Write); !errors.Is(err, ErrArchived) {
		t.Errorf("DeployKeyRepo write on archived: %v, want ErrArchived", err)
	}
}

// TestEditArchived: an archived repository's settings change only by
// unarchiving it.
func TestEditArchived(t *testing.T) {
	alice := &gatehouse.Actor{User: &gatehouse.User{ID: 1, Login: "alice"}}
	archived := &gatehouse.Repo{ID: 1, OwnerID: 1, ArchivedAt: time.Now()}
	live := &gatehouse.Repo{ID: 2, OwnerID: 1}
	tests := []struct {
		name       string
		actor      *gatehouse.Actor
		repo       *gatehouse.Repo
		unarchives bool
		refused    bool
	}{
		{"edit archived", alice, archived, false, true},
		{"unarchive", alice, archived, true, false},
		{"edit live", alice, live, false, false},
		{"system edits archived", gatehouse.SystemActor(), archived, false, false},
	}
	for _, tt := range tests {
		err := EditArchived(tt.actor, tt.repo, tt.unarchives)
		if refused := err != nil; refused != tt.refused {
			t.Errorf("%s: %v, want refused=%v", tt.name, err, tt.refused)
		}
		if err != nil && (!errors.Is(err, ErrArchived) || !gatehouse.IsKind(err, gatehouse.Forbidden)) {
			t.Errorf("%s: %v, want Forbidden with ErrArchived", tt.name, err)
		}
	}
}
