package authz

import (
	"fmt"

	"github.com/gatehouse/gatehouse"
)

// Messages of deploy-key refusals that callers see.
const (
	MsgDeployKeyReadOnly = "The key you are authenticating with has been marked as read only."
	MsgDeployKeyAdmin    = "A deploy key cannot administer a repository."
)

// DeployKeyRepo decides whether an actor that authenticated with a deploy
// key (actor.DeployKey) may perform action on repo (nil when it does not
// exist): reading its own repository always, writing it only when the key
// is not read-only and the repository is not archived, administering
// never. Every other repository is NotFound, existing or not, as for a
// user who cannot see it; private mode changes nothing, the key being a
// credential. An actor without a deploy key is refused: this rule answers
// for deploy keys only.
//
// authz.Repo hands deploy-key actors to this rule, so that every
// transport honours them through the one decision.
func DeployKeyRepo(actor *gatehouse.Actor, repo *gatehouse.Repo, action Action) error {
	const op = "authorize"
	if actor == nil || actor.DeployKey == nil {
		return forbidden(op, "not a deploy key")
	}
	k := actor.DeployKey
	if repo == nil || repo.ID != k.RepoID {
		return notFound(op, MsgRepoNotFound)
	}
	switch action {
	case Read:
		return nil
	case Write:
		if k.ReadOnly {
			return forbidden(op, fmt.Sprintf("Permission to %s.git denied to deploy key %q. %s", repo.FullName(), k.Title, MsgDeployKeyReadOnly))
		}
		if repo.Archived() {
			return archived(op)
		}
		return nil
	}
	return forbidden(op, MsgDeployKeyAdmin)
}

// DeployKeyRole is the role a deploy key holds on repo: write or read on
// its own repository, none elsewhere.
func DeployKeyRole(k *gatehouse.DeployKey, repo *gatehouse.Repo) gatehouse.Permission {
	switch {
	case k == nil || repo == nil || repo.ID != k.RepoID:
		return gatehouse.PermNone
	case k.ReadOnly:
		return gatehouse.PermRead
	}
	return gatehouse.PermWrite
}
