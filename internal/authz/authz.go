// Package authz holds every rule of who may do what, as pure functions of
// an actor and the resources involved. Nothing here reads a store: the
// service loads what a rule needs, asks the rule, and acts on the answer,
// for every transport alike (git over HTTPS, the REST and GraphQL API, the
// web UI and the command line). A rule denies by default and answers with
// an error whose kind the transports turn into their own wording:
//
//   - Unauthenticated: an anonymous caller must sign in first;
//   - NotFound: the caller may not know the thing exists;
//   - Forbidden: the caller may see it but not do this;
//   - Invalid: the request itself is not allowed (the owner as a
//     collaborator of their own repository).
//
// The system actor (the operator's command line, background jobs) passes
// every rule; a site admin gains nothing implicitly on other people's
// repositories, so an ordinary token of an admin does not open every
// private repository of the instance.
package authz

import (
	"errors"
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

// Messages of refusals that callers see.
const (
	MsgRepoNotFound   = "Repository not found."
	MsgAuthRequired   = "Authentication required."
	MsgSuspended      = "This account is suspended."
	MsgSiteAdmin      = "Must be a site administrator, using a personal access token with the site_admin scope."
	MsgOwnerIsCollab  = "Repository owner cannot be a collaborator"
	MsgTokenInUse     = "The personal access token used for this request cannot be deleted with itself."
	MsgPrivateScope   = `Creating a private repository needs the "repo" scope; this token has only "public_repo".`
	MsgPublicScope    = `Creating a repository needs the "public_repo" or "repo" scope.`
	MsgCreateForOther = "You can only create repositories for your own account."
	MsgSelfSuspend    = "you cannot suspend your own account"
	MsgSelfDemote     = "you cannot remove your own site admin role"
)

// Reasons for a refusal that a transport may word differently, matched
// with errors.Is.
var (
	// ErrScope: the token lacks a scope the operation needs.
	ErrScope = errors.New("the token lacks a scope")
	// ErrNotYours: the account or organization is not the actor's to act
	// for.
	ErrNotYours = errors.New("not the actor's account")
)

func unauthenticated(op string) error {
	return gatehouse.E(op, gatehouse.Unauthenticated, MsgAuthRequired)
}

func notFound(op, msg string) error { return gatehouse.E(op, gatehouse.NotFound, msg) }

func forbidden(op, msg string) error { return gatehouse.E(op, gatehouse.Forbidden, msg) }

// signedIn refuses anonymous callers and suspended users. The system
// passes.
func signedIn(op string, actor *gatehouse.Actor) error {
	switch {
	case actor.IsSystem():
		return nil
	case actor.Anonymous() || actor.User == nil:
		return unauthenticated(op)
	case actor.User.Suspended:
		return forbidden(op, MsgSuspended)
	}
	return nil
}

// HasScope reports whether the actor's credential carries scope (or a
// scope that implies it). Browser sessions and the system carry every
// scope; anonymous callers none.
func HasScope(actor *gatehouse.Actor, scope string) bool {
	switch {
	case actor.IsSystem():
		return true
	case actor.Anonymous() || actor.User == nil:
		return false
	case actor.Token == nil:
		return true
	case actor.Token.FineGrained():
		return false // permissions instead: see Allows
	}
	return token.Has(actor.Token.Scopes, scope)
}

// Role returns the role the actor holds on repo, ignoring token scopes:
// the highest of owning the account (admin), being an owner of the
// organization that owns it (admin), the direct collaborator grant, each
// team grant, and the organization's base permission for its members;
// read for anyone on a public repository; admin for the system. The
// caller loads the actor's grants on repo (OrgStore.RepoGrants).
func Role(actor *gatehouse.Actor, repo *gatehouse.Repo, g gatehouse.Grants) gatehouse.Permission {
	if actor != nil && actor.DeployKey != nil {
		return DeployKeyRole(actor.DeployKey, repo)
	}
	switch {
	case actor.IsSystem():
		return gatehouse.PermAdmin
	case actor.Anonymous() || actor.User == nil:
		if repo.Private {
			return gatehouse.PermNone
		}
		return gatehouse.PermRead
	case actor.User.ID == repo.OwnerID, g.OrgRole == gatehouse.OrgOwner:
		return gatehouse.PermAdmin
	}
	p := max(g.Collaborator, g.Team)
	if g.OrgRole == gatehouse.OrgMember {
		p = max(p, g.Base)
	}
	if !repo.Private {
		p = max(p, gatehouse.PermRead)
	}
	return p
}

// Repo decides whether actor may perform action on repo. repo is nil when
// it does not exist; role is the actor's role on it (see Role).
//
//   - Anonymous callers may read public repositories (unless the instance
//     is in private mode); for anything else they are asked to
//     authenticate, whether the repository exists or not, so that nothing
//     leaks.
//   - A signed-in caller who cannot see a private repository — no role on
//     it, or a token without the repo scope — is told it does not exist.
//   - Writing needs the repo scope (private) or public_repo (public, which
//     repo implies) and a write role; administering needs the repo scope
//     and the admin role. A browser session carries every scope.
//
// A fine-grained token is decided by FineGrainedRepo instead, and policy
// (the owning organization's token policy, nil for a user's repository)
// may refuse a token of either kind.
//
// Whoever may write to a repository is refused when it is archived
// (Forbidden, ErrArchived with MsgArchived), deploy keys included;
// reading and administering it stay allowed, so that its admins can
// unarchive or delete it. The system passes.
func Repo(actor *gatehouse.Actor, repo *gatehouse.Repo, role gatehouse.Permission, need Need, policy *gatehouse.TokenPolicy, privateMode bool) error {
	if err := repoAccess(actor, repo, role, need, policy, privateMode); err != nil {
		return err
	}
	if repo != nil && repo.Archived() && need.writes() && !actor.IsSystem() {
		return archived("authorize")
	}
	return nil
}

// repoAccess is Repo without the archived rule: the actor's access.
func repoAccess(actor *gatehouse.Actor, repo *gatehouse.Repo, role gatehouse.Permission, need Need, policy *gatehouse.TokenPolicy, privateMode bool) error {
	const op = "authorize"
	action := need.Action
	if actor != nil && actor.DeployKey != nil {
		return DeployKeyRepo(actor, repo, action)
	}
	if actor.IsSystem() {
		if repo == nil {
			return notFound(op, MsgRepoNotFound)
		}
		return nil
	}
	if actor.Anonymous() || actor.User == nil {
		if repo != nil && !repo.Private && !privateMode && action == Read {
			return nil
		}
		return unauthenticated(op)
	}
	if actor.User.Suspended {
		return forbidden(op, MsgSuspended)
	}
	if repo == nil {
		return notFound(op, MsgRepoNotFound)
	}
	if actor.Token != nil && actor.Token.FineGrained() {
		return fineGrainedRepo(actor, repo, role, need, policy)
	}
	if repo.Private && (role < gatehouse.PermRead || !HasScope(actor, "repo")) {
		return notFound(op, MsgRepoNotFound)
	}
	if actor.Token != nil && (repo.Private || action != Read) {
		if err := classicPolicy(repo, actor.Token, policy); err != nil {
			return err
		}
	}
	if action == Read {
		return nil
	}
	denied := fmt.Sprintf("Permission to %s.git denied to %s.", repo.FullName(), actor.User.Login)
	scope := "public_repo"
	if repo.Private || action == Admin {
		scope = "repo"
	}
	if !HasScope(actor, scope) {
		return forbidden(op, denied+fmt.Sprintf(" The personal access token needs the %q scope.", scope))
	}
	want := gatehouse.PermWrite
	if action == Admin {
		want = gatehouse.PermAdmin
	}
	if role < want {
		return forbidden(op, denied)
	}
	return nil
}

// SeeUsers decides whether the actor may look at profiles and listings at
// all: everyone may, except anonymous callers of an instance in private
// mode, who must sign in.
func SeeUsers(actor *gatehouse.Actor, privateMode bool) error {
	if actor.Anonymous() {
		if privateMode {
			return unauthenticated("view")
		}
		return nil
	}
	return signedIn("view", actor)
}

// ListRepos returns the filter that keeps, of owner's repositories, those
// the actor may see: every one for the owner and the system; public ones
// plus private ones the actor collaborates on for other users (site admins
// included); public ones for anonymous callers and for tokens without the
// repo scope. In private mode anonymous callers see nothing.
func ListRepos(actor *gatehouse.Actor, owner *gatehouse.User, privateMode bool) (gatehouse.RepoFilter, error) {
	f := gatehouse.RepoFilter{OwnerID: owner.ID}
	if err := SeeUsers(actor, privateMode); err != nil {
		return f, err
	}
	switch {
	case actor.IsSystem():
	case fineGrained(actor):
		if actor.User.ID != owner.ID {
			f.VisibleTo = actor.User.ID
		}
		limitToReach(&f, actor.Token)
	case actor.Anonymous() || !HasScope(actor, "repo"):
		f.PublicOnly = true
	case actor.User.ID != owner.ID:
		f.VisibleTo = actor.User.ID
	}
	limitToPolicies(&f, actor)
	return f, nil
}

// ListOwnRepos returns the filter of the repositories the actor owns or
// collaborates on (the dashboard, GET /user/repos); ownedOnly narrows it
// to those it owns. Private ones need the repo scope.
func ListOwnRepos(actor *gatehouse.Actor, ownedOnly bool) (gatehouse.RepoFilter, error) {
	if err := signedIn("list repositories", actor); err != nil {
		return gatehouse.RepoFilter{}, err
	}
	if actor.IsSystem() || actor.User == nil {
		return gatehouse.RepoFilter{}, forbidden("list repositories", "the system has no repositories of its own")
	}
	f := gatehouse.RepoFilter{Member: actor.User.ID}
	if ownedOnly {
		f = gatehouse.RepoFilter{OwnerID: actor.User.ID}
	}
	if fineGrained(actor) {
		limitToReach(&f, actor.Token)
		limitToPolicies(&f, actor)
		return f, nil
	}
	f.PublicOnly = !HasScope(actor, "repo")
	limitToPolicies(&f, actor)
	return f, nil
}

// CreateRepo decides whether the actor may create a repository owned by
// owner: users create their own, and members create their organization's
// (role is the actor's role in owner when owner is an organization); a
// token needs public_repo, and repo for a private one. The system creates
// anyone's.
func CreateRepo(actor *gatehouse.Actor, owner *gatehouse.User, role gatehouse.OrgRole, private bool) error {
	const op = "create repository"
	if err := signedIn(op, actor); err != nil || actor.IsSystem() {
		return err
	}
	if owner.IsOrg && role == "" {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Err: ErrNotYours,
			Msg: fmt.Sprintf("You must be a member of %s to create its repositories.", owner.Login)}
	}
	if !owner.IsOrg && actor.User.ID != owner.ID {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: MsgCreateForOther, Err: ErrNotYours}
	}
	if fineGrained(actor) {
		// GitHub: administration write on the resource owner.
		if actor.Token.TargetID != owner.ID || !Usable(actor.Token) || !Perms(actor.Token).Allows(AdministrationWrite) {
			return &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: MsgNotAccessible, Err: ErrPermission}
		}
		return nil
	}
	if private && !HasScope(actor, "repo") {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: MsgPrivateScope, Err: ErrScope}
	}
	if !HasScope(actor, "public_repo") {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: MsgPublicScope, Err: ErrScope}
	}
	return nil
}

// SetCollaborator decides whether the actor, whose role on repo is role,
// may change target's grant on it: it takes the admin role, and the owner
// cannot be a collaborator of their own repository.
func SetCollaborator(actor *gatehouse.Actor, repo *gatehouse.Repo, role gatehouse.Permission, policy *gatehouse.TokenPolicy, target *gatehouse.User, privateMode bool) error {
	if err := Repo(actor, repo, role, Admin.Need(), policy, privateMode); err != nil {
		return err
	}
	if target.ID == repo.OwnerID {
		return &gatehouse.Error{Op: "set collaborator", Kind: gatehouse.Invalid, Field: "username", Msg: MsgOwnerIsCollab}
	}
	return nil
}

// SiteAdmin decides whether the actor may administer the instance: a site
// admin in a browser session or with a site_admin token, or the system.
func SiteAdmin(actor *gatehouse.Actor) error {
	const op = "administer"
	if err := signedIn(op, actor); err != nil || actor.IsSystem() {
		return err
	}
	if !actor.User.SiteAdmin || !HasScope(actor, "site_admin") {
		return forbidden(op, MsgSiteAdmin)
	}
	return nil
}

// CreateUser decides whether the actor may create accounts: site
// administration.
func CreateUser(actor *gatehouse.Actor) error { return SiteAdmin(actor) }

// UserChange is a change a site admin makes to an account.
type UserChange int

// User changes.
const (
	Suspend UserChange = iota
	Reinstate
	Promote
	Demote
)

// ChangeUser decides whether the actor may apply change to target: site
// administration, and an admin can neither suspend nor demote themselves,
// so that an instance always keeps the admin who acts.
func ChangeUser(actor *gatehouse.Actor, target *gatehouse.User, change UserChange) error {
	if err := SiteAdmin(actor); err != nil {
		return err
	}
	if actor.UserID() == target.ID {
		switch change {
		case Suspend:
			return forbidden("suspend user", MsgSelfSuspend)
		case Demote:
			return forbidden("demote user", MsgSelfDemote)
		}
	}
	return nil
}

// EditProfile decides whether the actor may change userID's profile: its
// own, with the user scope when using a token.
func EditProfile(actor *gatehouse.Actor, userID int64) error {
	const op = "update profile"
	if err := signedIn(op, actor); err != nil || actor.IsSystem() {
		return err
	}
	if actor.User.ID != userID {
		return notFound(op, "user not found")
	}
	if !Allows(actor, "user", token.Permission{Name: "profile", Level: token.ReadWrite}) {
		return forbidden(op, `Changing the profile needs the "user" scope.`)
	}
	return nil
}

// ManageTokens decides whether the actor may see, create and change the
// personal access tokens of userID: its own, in a browser session (a token
// cannot mint or widen tokens), or the system. Another user's tokens are
// NotFound, exactly like missing ones.
func ManageTokens(actor *gatehouse.Actor, userID int64) error {
	const op = "manage tokens"
	if err := signedIn(op, actor); err != nil || actor.IsSystem() {
		return err
	}
	if actor.User.ID != userID || actor.Token != nil {
		return notFound(op, "token not found")
	}
	return nil
}

// RevokeToken decides whether the actor may delete t, and which event the
// audit log records for it: its owner in a browser session deletes it
// (personal_access_token.destroy); a site admin or the system revokes it
// (personal_access_token.admin_revoke). A token cannot delete itself.
func RevokeToken(actor *gatehouse.Actor, t *gatehouse.Token) (gatehouse.AuditAction, error) {
	const op = "delete token"
	if err := signedIn(op, actor); err != nil {
		return "", err
	}
	if actor.IsSystem() {
		return gatehouse.AuditTokenAdminRevoke, nil
	}
	if actor.Token != nil && actor.Token.ID == t.ID {
		return "", forbidden(op, MsgTokenInUse)
	}
	if actor.User.ID == t.UserID && actor.Token == nil {
		return gatehouse.AuditTokenDelete, nil
	}
	if SiteAdmin(actor) == nil {
		return gatehouse.AuditTokenAdminRevoke, nil
	}
	return "", notFound(op, "token not found")
}

// ListAllTokens decides whether the actor may see every token of the
// instance: site administration.
func ListAllTokens(actor *gatehouse.Actor) error { return SiteAdmin(actor) }

// ViewAuditLog decides whether the actor may read the audit events of
// userID (0: the whole instance): their own security log in a browser
// session, or site administration.
func ViewAuditLog(actor *gatehouse.Actor, userID int64) error {
	const op = "view audit log"
	if err := signedIn(op, actor); err != nil || actor.IsSystem() {
		return err
	}
	if userID != 0 && actor.User.ID == userID && actor.Token == nil {
		return nil
	}
	if err := SiteAdmin(actor); err != nil {
		return notFound(op, "not found")
	}
	return nil
}

// ManageKeys decides whether the actor may read in full, add and delete
// the SSH keys of userID: its own (the API's route table asks for the
// public_key scopes on top), or the system.
func ManageKeys(actor *gatehouse.Actor, userID int64) error {
	const op = "manage keys"
	if err := signedIn(op, actor); err != nil || actor.IsSystem() {
		return err
	}
	if actor.User.ID != userID {
		return notFound(op, "key not found")
	}
	return nil
}

// Organizations. role is always the actor's role in the organization
// concerned ("" for none), which the service looks up.

// CreateOrg decides whether the actor may create an organization: site
// administration always; any signed-in user in a browser session when
// the instance lets users create organizations.
func CreateOrg(actor *gatehouse.Actor, usersMayCreate bool) error {
	const op = "create organization"
	if err := signedIn(op, actor); err != nil || actor.IsSystem() {
		return err
	}
	if SiteAdmin(actor) == nil {
		return nil
	}
	if usersMayCreate && actor.Token == nil {
		return nil
	}
	return forbidden(op, "Organizations can be created only by site administrators on this server.")
}

// SeeMembers reports whether the actor may see an organization's members
// and its (visible) teams: its members, with read:org when using a token,
// and the system. Memberships are concealed from everyone else, as
// GitHub's default.
func SeeMembers(actor *gatehouse.Actor, role gatehouse.OrgRole) bool {
	if actor.IsSystem() {
		return true
	}
	return signedIn("view members", actor) == nil && role != "" && Allows(actor, "read:org", MembersRead)
}

// SeeTeam reports whether the actor may see a team: a member of the
// organization sees its closed teams; a secret team is seen by the
// organization's owners and its own members only.
func SeeTeam(actor *gatehouse.Actor, role gatehouse.OrgRole, team *gatehouse.Team, teamRole gatehouse.TeamRole) bool {
	if !SeeMembers(actor, role) {
		return false
	}
	return team.Privacy != "secret" || actor.IsSystem() || role == gatehouse.OrgOwner || teamRole != ""
}

// orgScoped refuses what needs an owner of the organization with scope.
// Someone who cannot see the organization's members is told the thing
// does not exist.
func orgScoped(op string, actor *gatehouse.Actor, role gatehouse.OrgRole, scope string, perm token.Permission) error {
	if err := signedIn(op, actor); err != nil || actor.IsSystem() {
		return err
	}
	if role == "" {
		return notFound(op, "Not Found")
	}
	if role != gatehouse.OrgOwner {
		return forbidden(op, "You must be an owner of this organization.")
	}
	if fineGrained(actor) && !Perms(actor.Token).Allows(perm) {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Forbidden, Msg: MsgNotAccessible, Err: ErrPermission}
	}
	if !Allows(actor, scope, perm) {
		return forbidden(op, fmt.Sprintf("The personal access token needs the %q scope.", scope))
	}
	return nil
}

// EditOrg decides whether the actor may change an organization's profile
// and base permission: an owner, with admin:org when using a token.
func EditOrg(actor *gatehouse.Actor, role gatehouse.OrgRole) error {
	return orgScoped("edit organization", actor, role, "admin:org", OrgAdminWrite)
}

// ManageMembers decides whether the actor may add people to an
// organization and change their roles: an owner, with write:org when
// using a token.
func ManageMembers(actor *gatehouse.Actor, role gatehouse.OrgRole) error {
	return orgScoped("manage members", actor, role, "write:org", MembersWrite)
}

// RemoveMember decides whether the actor may remove target from an
// organization: an owner (write:org), or the member leaving.
func RemoveMember(actor *gatehouse.Actor, role gatehouse.OrgRole, target *gatehouse.User) error {
	if actor.UserID() == target.ID && role != "" && Allows(actor, "write:org", MembersWrite) {
		return nil
	}
	return ManageMembers(actor, role)
}

// KeepOwner refuses a change that would leave an organization without an
// owner: owners is how many it has, losing whether the change removes or
// demotes one of them.
func KeepOwner(owners int, losing bool) error {
	if losing && owners <= 1 {
		return &gatehouse.Error{Op: "manage members", Kind: gatehouse.Invalid, Field: "role",
			Msg: "An organization must keep at least one owner: make someone else an owner first."}
	}
	return nil
}

// ManageTeams decides whether the actor may create, edit and delete an
// organization's teams and grant them repositories: an owner, with
// admin:org when using a token.
func ManageTeams(actor *gatehouse.Actor, role gatehouse.OrgRole) error {
	return orgScoped("manage teams", actor, role, "admin:org", MembersWrite)
}

// ManageTeamMembers decides whether the actor may change a team's
// members: an owner of the organization, or a maintainer of the team,
// with write:org when using a token.
func ManageTeamMembers(actor *gatehouse.Actor, role gatehouse.OrgRole, teamRole gatehouse.TeamRole) error {
	if teamRole == gatehouse.TeamMaintainer && role != "" {
		role = gatehouse.OrgOwner // a maintainer manages this team as an owner would
	}
	return orgScoped("manage team members", actor, role, "write:org", MembersWrite)
}

// RemoveTeamMember decides whether the actor may remove target from a
// team: whoever manages its members (ManageTeamMembers), or the member
// leaving, with write:org when using a token.
func RemoveTeamMember(actor *gatehouse.Actor, role gatehouse.OrgRole, teamRole gatehouse.TeamRole, target *gatehouse.User) error {
	if actor.UserID() == target.ID && Allows(actor, "write:org", MembersWrite) {
		return nil
	}
	return ManageTeamMembers(actor, role, teamRole)
}
