// Package authz is the one place that decides whether an actor may do
// something to a repository. The git transport, the REST API and the web UI
// all call Repo; none of them has a rule of its own.
package authz

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Action is what the caller wants to do to a repository.
type Action int

// Actions, in increasing order of privilege.
const (
	Read  Action = iota // clone, fetch, view
	Write               // push, edit
	Admin               // settings, collaborators, delete
)

func (a Action) String() string {
	switch a {
	case Write:
		return "write"
	case Admin:
		return "admin"
	}
	return "read"
}

// Authorizer looks up what it needs and applies Decide.
type Authorizer struct {
	Store gatehouse.Store
	// PrivateMode refuses anonymous reads of public repositories.
	PrivateMode bool
}

// Repo finds owner/name and decides whether actor may perform action on it.
// It returns the repository and the actor's effective permission when
// allowed. Errors: Unauthenticated (anonymous caller and the repository is
// private, missing, or the action needs an account), NotFound (signed-in
// caller who may not see it, or it does not exist), Forbidden (may see it
// but not do this), Internal.
func (a *Authorizer) Repo(ctx context.Context, actor *gatehouse.Actor, owner, name string, action Action) (*gatehouse.Repo, gatehouse.Permission, error) {
	repo, err := a.Store.FindRepo(ctx, owner, name)
	if err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
		return nil, gatehouse.PermNone, err
	}
	if err != nil {
		repo = nil
	}
	perm := gatehouse.PermNone
	if repo != nil {
		if perm, err = a.Permission(ctx, actor, repo); err != nil {
			return nil, gatehouse.PermNone, err
		}
	}
	if err := Decide(actor, repo, perm, action, a.PrivateMode); err != nil {
		return nil, gatehouse.PermNone, err
	}
	return repo, perm, nil
}

// Permission returns the role the actor's user holds on repo, ignoring
// token scopes: admin for the owner, the explicit grant for collaborators,
// read for anyone else on a public repository. Being a site admin grants
// nothing here: an ordinary token of an admin must not open every private
// repository of the instance.
func (a *Authorizer) Permission(ctx context.Context, actor *gatehouse.Actor, repo *gatehouse.Repo) (gatehouse.Permission, error) {
	if actor == nil || actor.User == nil {
		if repo.Private {
			return gatehouse.PermNone, nil
		}
		return gatehouse.PermRead, nil
	}
	u := actor.User
	if u.ID == repo.OwnerID {
		return gatehouse.PermAdmin, nil
	}
	p, err := a.Store.Collaborator(ctx, repo.ID, u.ID)
	if err != nil {
		return gatehouse.PermNone, fmt.Errorf("collaborator permission: %w", err)
	}
	if p == gatehouse.PermNone && !repo.Private {
		p = gatehouse.PermRead
	}
	return p, nil
}

const notFoundMsg = "Repository not found."

// Decide is the pure rule. repo is nil when it does not exist; perm is the
// actor's role on it (see Permission).
//
//   - Anonymous callers may read public repositories (unless private mode
//     is on); for anything else they are asked to authenticate, whether the
//     repository exists or not, so that nothing leaks.
//   - A signed-in caller who cannot see a private repository — no role on
//     it, or a token without the repo scope — is told it does not exist.
//   - Writing needs the repo scope (private) or public_repo (public, which
//     repo implies) and a write role; administering needs the repo scope and
//     the admin role. A browser session carries every scope.
func Decide(actor *gatehouse.Actor, repo *gatehouse.Repo, perm gatehouse.Permission, action Action, privateMode bool) error {
	const op = "authorize"
	if actor == nil || actor.User == nil {
		if repo != nil && !repo.Private && !privateMode && action == Read {
			return nil
		}
		return gatehouse.E(op, gatehouse.Unauthenticated, "Authentication required.")
	}
	if repo == nil {
		return gatehouse.E(op, gatehouse.NotFound, notFoundMsg)
	}
	if repo.Private && (perm < gatehouse.PermRead || !hasScope(actor, "repo")) {
		return gatehouse.E(op, gatehouse.NotFound, notFoundMsg)
	}
	if action == Read {
		return nil
	}
	denied := fmt.Sprintf("Permission to %s.git denied to %s.", repo.FullName(), actor.User.Login)
	need := "public_repo"
	if repo.Private || action == Admin {
		need = "repo"
	}
	if !hasScope(actor, need) {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden,
			Msg: denied + fmt.Sprintf(" The personal access token needs the %q scope.", need)}
	}
	want := gatehouse.PermWrite
	if action == Admin {
		want = gatehouse.PermAdmin
	}
	if perm < want {
		return gatehouse.E(op, gatehouse.Forbidden, denied)
	}
	return nil
}

// hasScope reports whether the actor's credential carries scope. Browser
// sessions (no token) carry every scope.
func hasScope(actor *gatehouse.Actor, scope string) bool {
	if actor.Token == nil {
		return true
	}
	return token.Has(actor.Token.Scopes, scope)
}

// HasScope is hasScope for other packages (the API's route table).
func HasScope(actor *gatehouse.Actor, scope string) bool {
	return actor != nil && actor.User != nil && hasScope(actor, scope)
}
