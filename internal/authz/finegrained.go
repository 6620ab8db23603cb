package authz

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Fine-grained personal access tokens (SPEC §10) act for their user on
// one resource owner, on the repositories they select, with the
// permissions they hold. They never grant more than the user's role: the
// rules here only narrow what Role and the other rules allow. Scopes mean
// nothing to them (HasScope is false), so every rule that asks for a scope
// asks Allows with the permission that stands for it.

// Need is what an operation on a repository needs: an action, which the
// user's role must allow, and the permission a fine-grained token must
// hold for it.
type Need struct {
	Action Action
	Perm   token.Permission
}

// Permissions that rules and routes name.
var (
	MetadataRead        = token.Permission{Name: "metadata", Level: token.ReadOnly}
	ContentsRead        = token.Permission{Name: "contents", Level: token.ReadOnly}
	ContentsWrite       = token.Permission{Name: "contents", Level: token.ReadWrite}
	AdministrationRead  = token.Permission{Name: "administration", Level: token.ReadOnly}
	AdministrationWrite = token.Permission{Name: "administration", Level: token.ReadWrite}
	MembersRead         = token.Permission{Name: "members", Level: token.ReadOnly}
	MembersWrite        = token.Permission{Name: "members", Level: token.ReadWrite}
	OrgAdminRead        = token.Permission{Name: "organization_administration", Level: token.ReadOnly}
	OrgAdminWrite       = token.Permission{Name: "organization_administration", Level: token.ReadWrite}
	EmailsRead          = token.Permission{Name: "email_addresses", Level: token.ReadOnly}
	KeysRead            = token.Permission{Name: "git_ssh_keys", Level: token.ReadOnly}
	KeysWrite           = token.Permission{Name: "git_ssh_keys", Level: token.ReadWrite}
	ProfileRead         = token.Permission{Name: "profile", Level: token.ReadOnly}
	ProfileWrite        = token.Permission{Name: "profile", Level: token.ReadWrite}
)

// Need returns what the action needs by default: reading is cloning and
// reading contents (contents: read), writing is pushing (contents: write),
// administering is administration: write.
func (a Action) Need() Need {
	switch a {
	case Write:
		return Need{Write, ContentsWrite}
	case Admin:
		return Need{Admin, AdministrationWrite}
	}
	return Need{Read, ContentsRead}
}

// Messages of fine-grained refusals.
const (
	// MsgNotAccessible is GitHub's answer to a fine-grained token that
	// lacks the permission a route needs.
	MsgNotAccessible = "Resource not accessible by personal access token"
)

var (
	// ErrPermission: a fine-grained token lacks a permission, or the
	// resource is outside its reach; the API answers 403 with
	// MsgNotAccessible, git with the error's message.
	ErrPermission = errors.New("the fine-grained token lacks a permission")
	// ErrPolicy: an organization's token policy refuses the token; every
	// transport shows the error's message, which names the organization.
	ErrPolicy = errors.New("the organization's token policy refuses the token")
)

func fineGrained(actor *gatehouse.Actor) bool {
	return actor != nil && actor.User != nil && actor.Token != nil && actor.Token.FineGrained()
}

// Perms returns a fine-grained token's permissions.
func Perms(t *gatehouse.Token) token.Perms {
	ps := token.Perms{}
	for n, l := range t.Permissions {
		ps[n] = token.Level(l)
	}
	return ps
}

// Wider reports whether a fine-grained token whose access changes from
// old to changed reaches further than before: a permission at a higher
// level, or a repository it did not reach (all of the owner's beyond a
// selection, a selected one it did not select, any beyond public ones).
// An organization that requires approval reviews such a change again; a
// change that only narrows applies at once.
func Wider(old, changed *gatehouse.Token) bool {
	for n, l := range changed.Permissions {
		if l > old.Permissions[n] {
			return true
		}
	}
	switch changed.Repos {
	case gatehouse.AllRepos:
		return old.Repos != gatehouse.AllRepos
	case gatehouse.SelectedRepos:
		switch old.Repos {
		case gatehouse.AllRepos:
			return false
		case gatehouse.SelectedRepos:
			for _, id := range changed.RepoIDs {
				if !slices.Contains(old.RepoIDs, id) {
					return true
				}
			}
			return false
		}
		return true
	}
	return false
}

// NeedsApproval reports whether a fine-grained token of a user whose role
// in target is role waits for an owner's approval: target is an
// organization whose policy requires it and the user does not own it.
func NeedsApproval(target *gatehouse.User, role gatehouse.OrgRole, p gatehouse.TokenPolicy) bool {
	return target.IsOrg && p.RequireApproval && role != gatehouse.OrgOwner
}

// ErrPendingWider is why a change to a token that waits for review is
// refused: it would reach further than the request the owners see.
var ErrPendingWider = errors.New("a pending request may only narrow")

// ApprovalAfterChange decides the approval of a fine-grained token whose
// access changes from old to changed, needsReview being NeedsApproval's
// answer for it: a request that waits for review may narrow, never widen
// (ErrPendingWider), so that the owners approve at most what they saw; a
// change that widens, or any change of a denied token, is a new request
// (review); a change that only narrows keeps the approval; a token that
// needs no review is approved, as at creation.
func ApprovalAfterChange(old, changed *gatehouse.Token, needsReview bool) (approval gatehouse.TokenApproval, review bool, err error) {
	wider := Wider(old, changed)
	switch {
	case !needsReview:
		return gatehouse.TokenApproved, false, nil
	case old.Approval == gatehouse.TokenPending && wider:
		return "", false, ErrPendingWider
	case old.Approval == gatehouse.TokenPending:
		return gatehouse.TokenPending, false, nil
	case old.Approval == gatehouse.TokenDenied || wider:
		return gatehouse.TokenPending, true, nil
	}
	return old.Approval, false, nil
}

// Usable reports whether a fine-grained token may act on its resource
// owner at all: approved (a pending or denied one reads public resources
// only).
func Usable(t *gatehouse.Token) bool { return t.Approval == gatehouse.TokenApproved }

// Allows reports whether the actor's credential carries scope, for a
// classic token, or perm, for a fine-grained one. Browser sessions and the
// system carry everything; anonymous callers nothing. Whether the
// fine-grained token reaches the resource concerned is for the rule to
// say (OrgAccess for organizations; account permissions reach the
// token's user).
func Allows(actor *gatehouse.Actor, scope string, perm token.Permission) bool {
	if fineGrained(actor) {
		return perm.Name != "" && Perms(actor.Token).Allows(perm)
	}
	return HasScope(actor, scope)
}

// limitToReach narrows a listing to what a fine-grained token reaches:
// public repositories, and private ones of its resource owner that it
// selects (none when it is not usable).
func limitToReach(f *gatehouse.RepoFilter, t *gatehouse.Token) {
	f.LimitPrivate = true
	f.PrivateOwnerID = t.TargetID
	switch {
	case !Usable(t), t.Repos == gatehouse.PublicRepos:
		f.PublicOnly = true
	case t.Repos == gatehouse.SelectedRepos:
		f.PrivateIDs = append([]int64{}, t.RepoIDs...)
	}
}

// limitToPolicies narrows a listing for a token caller to what the
// owning organizations' token policies let it see (classicPolicy and
// fineGrainedPolicy, in the store's terms).
func limitToPolicies(f *gatehouse.RepoFilter, actor *gatehouse.Actor) {
	if actor == nil || actor.Token == nil || actor.User == nil {
		return
	}
	f.TokenKind, f.TokenKindSet, f.TokenLifetime = actor.Token.Kind, true, Lifetime(actor.Token)
}

// Lifetime returns how many days t lives (from its creation or latest
// regeneration to its expiry), or -1 when it never expires.
func Lifetime(t *gatehouse.Token) int {
	if t.ExpiresAt.IsZero() {
		return -1
	}
	from := t.CreatedAt
	if t.RegeneratedAt.After(from) {
		from = t.RegeneratedAt
	}
	d := t.ExpiresAt.Sub(from).Hours() / 24
	return int(d + 0.999) // a partial day counts
}

// TooLong reports whether a lifetime of days (-1: never expires) exceeds
// a maximum of max days (0: none).
func TooLong(days, max int) bool { return max > 0 && (days < 0 || days > max) }

func policyError(msg string) error {
	return &gatehouse.Error{Op: "authorize", Kind: gatehouse.Forbidden, Msg: msg, Err: ErrPolicy}
}

// MsgClassicRestricted is the refusal of a classic token by an
// organization that restricts them.
func MsgClassicRestricted(org string) string {
	return fmt.Sprintf("`%s` forbids access via a personal access token (classic). Use a fine-grained personal access token that targets %s instead.", org, org)
}

// MsgFineGrainedRestricted is the refusal of a fine-grained token by an
// organization that restricts them.
func MsgFineGrainedRestricted(org string) string {
	return fmt.Sprintf("`%s` forbids access via a fine-grained personal access token.", org)
}

// MsgLifetime is the refusal of a token that lives longer than the
// organization allows.
func MsgLifetime(org, kind string, max int) string {
	return fmt.Sprintf("`%s` forbids access via a %s whose lifetime is longer than %d days. Regenerate the token with a shorter expiration.", org, kind, max)
}

// classicPolicy applies an organization's policy to a classic token.
func classicPolicy(repo *gatehouse.Repo, t *gatehouse.Token, p *gatehouse.TokenPolicy) error {
	switch {
	case p == nil:
		return nil
	case p.RestrictClassic:
		return policyError(MsgClassicRestricted(repo.Owner))
	case TooLong(Lifetime(t), p.MaxClassicDays):
		return policyError(MsgLifetime(repo.Owner, "personal access token (classic)", p.MaxClassicDays))
	}
	return nil
}

// fineGrainedPolicy applies an organization's policy to a fine-grained
// token that targets it.
func fineGrainedPolicy(org string, t *gatehouse.Token, p *gatehouse.TokenPolicy) error {
	switch {
	case p == nil:
		return nil
	case p.RestrictFineGrained:
		return policyError(MsgFineGrainedRestricted(org))
	case TooLong(Lifetime(t), p.MaxFineGrainedDays):
		return policyError(MsgLifetime(org, "fine-grained personal access token", p.MaxFineGrainedDays))
	}
	return nil
}

// fineGrainedRepo decides a repository operation for a fine-grained
// token: Repo has refused anonymous and suspended callers and a missing
// repository.
//
//   - A public repository is readable by any fine-grained token, selected
//     or not, pending or not (reading its contents included).
//   - A private repository the user cannot see, or that the token does
//     not reach (another owner, not selected, pending, denied, or the
//     token asks only for public repositories), does not exist.
//   - A repository the token reaches takes the permission need names
//     (contents for git, administration for settings), then the role.
func fineGrainedRepo(actor *gatehouse.Actor, repo *gatehouse.Repo, role gatehouse.Permission, need Need, policy *gatehouse.TokenPolicy) error {
	const op = "authorize"
	t := actor.Token
	readOnly := need.Action == Read && need.Perm.Level <= token.ReadOnly
	if !repo.Private && readOnly {
		return nil
	}
	if repo.Private && role < gatehouse.PermRead {
		return notFound(op, MsgRepoNotFound)
	}
	reach := t.Selects(repo) && Usable(t)
	if reach {
		if err := fineGrainedPolicy(repo.Owner, t, policy); err != nil {
			return err
		}
	}
	denied := fmt.Sprintf("Permission to %s.git denied to %s.", repo.FullName(), actor.User.Login)
	if !reach {
		if repo.Private {
			return notFound(op, MsgRepoNotFound)
		}
		why := " The fine-grained personal access token does not include this repository."
		if !Usable(t) && t.Selects(repo) {
			why = " The fine-grained personal access token is waiting for an owner of " + repo.Owner + " to approve it."
		}
		return &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: denied + why, Err: ErrPermission}
	}
	if need.Perm.Name != "" && !Perms(t).Allows(need.Perm) {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Err: ErrPermission,
			Msg: denied + fmt.Sprintf(" The fine-grained personal access token needs the %q permission.", need.Perm.Phrase())}
	}
	want := gatehouse.PermRead
	switch need.Action {
	case Write:
		want = gatehouse.PermWrite
	case Admin:
		want = gatehouse.PermAdmin
	}
	if role < want {
		return forbidden(op, denied)
	}
	return nil
}

// OrgAccess returns the role the actor acts with in org, given its role
// there and the organization's token policy: the role itself for a
// browser session and the system; for a classic token, the role unless
// the policy restricts classic tokens or bounds their lifetime (then
// ErrPolicy); for a fine-grained token, the role only when the token
// targets org and is approved ("" otherwise, so that the organization's
// private side is hidden as from an outsider), and ErrPolicy when the
// policy refuses it.
func OrgAccess(actor *gatehouse.Actor, org *gatehouse.User, role gatehouse.OrgRole, p *gatehouse.TokenPolicy) (gatehouse.OrgRole, error) {
	if actor == nil || actor.Token == nil || actor.User == nil || role == "" {
		return role, nil
	}
	t := actor.Token
	if !t.FineGrained() {
		if p != nil && p.RestrictClassic {
			return "", policyError(MsgClassicRestricted(org.Login))
		}
		if p != nil && TooLong(Lifetime(t), p.MaxClassicDays) {
			return "", policyError(MsgLifetime(org.Login, "personal access token (classic)", p.MaxClassicDays))
		}
		return role, nil
	}
	if t.TargetID != org.ID || !Usable(t) {
		return "", nil
	}
	if err := fineGrainedPolicy(org.Login, t, p); err != nil {
		return "", err
	}
	return role, nil
}
