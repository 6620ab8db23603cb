package authz

import (
	"errors"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/token"
)

// An archived repository is read-only, as on GitHub: it can be read,
// cloned and fetched as before; pushing to it is refused (Repo), and so is
// changing its settings (EditArchived), except unarchiving it; its admins
// may still unarchive and delete it.

// MsgArchived is GitHub's refusal of a push to an archived repository,
// which git shows its user.
const MsgArchived = "This repository was archived so it is read-only."

// ErrArchived: the repository is archived. The API words the refusal as
// GitHub's REST answer ("Repository was archived so is read-only."), git
// shows MsgArchived.
var ErrArchived = errors.New("the repository is archived")

func archived(op string) error {
	return &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: MsgArchived, Err: ErrArchived}
}

// writes reports whether need changes a repository's content: a write
// action, unless its permission only reads (listing collaborators takes
// push access but changes nothing).
func (n Need) writes() bool {
	return n.Action == Write && (n.Perm.Name == "" || n.Perm.Level >= token.ReadWrite)
}

// EditArchived decides whether a change of repo's settings, which the
// admin role allows (Repo with Admin decided that), may be made while repo
// is archived: none may — description, visibility, default branch, name,
// collaborators — except the one that unarchives it (unarchives), as on
// GitHub, which answers 403. The system passes, as it passes every rule.
func EditArchived(actor *gatehouse.Actor, repo *gatehouse.Repo, unarchives bool) error {
	if repo == nil || !repo.Archived() || unarchives || actor.IsSystem() {
		return nil
	}
	return archived("update repository")
}
