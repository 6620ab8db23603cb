package gatehouse

import (
	"context"
	"strings"
	"time"
)

// An organization is an account that people cannot sign in to: it owns
// repositories, and people reach them through membership and teams. It is
// a User with IsOrg set, so that users and organizations share one login
// namespace (case-insensitively) and repositories have one kind of owner.

// OrgRole is a person's role in an organization.
type OrgRole string

// Organization roles, with GitHub's names: "admin" is an owner.
const (
	OrgMember OrgRole = "member"
	OrgOwner  OrgRole = "admin"
)

// ParseOrgRole accepts GitHub's names, and "owner" for admin.
func ParseOrgRole(s string) (OrgRole, bool) {
	switch strings.ToLower(s) {
	case "member":
		return OrgMember, true
	case "admin", "owner":
		return OrgOwner, true
	}
	return "", false
}

// Membership is a person's membership of an organization.
type Membership struct {
	Org  *User
	User *User
	Role OrgRole
}

// TeamRole is a person's role in a team.
type TeamRole string

// Team roles, with GitHub's names. Maintainers manage the team's members.
const (
	TeamMember     TeamRole = "member"
	TeamMaintainer TeamRole = "maintainer"
)

// ParseTeamRole accepts GitHub's names.
func ParseTeamRole(s string) (TeamRole, bool) {
	switch strings.ToLower(s) {
	case "member":
		return TeamMember, true
	case "maintainer":
		return TeamMaintainer, true
	}
	return "", false
}

// Team is a group of an organization's members that is granted access to
// some of its repositories.
type Team struct {
	ID          int64
	OrgID       int64
	Org         string // the organization's login, filled in by stores
	Name        string
	Slug        string // lowercase, unique within the organization
	Description string
	// Privacy is GitHub's "closed" (visible to every member of the
	// organization, the default) or "secret" (visible to its members and
	// the owners only).
	Privacy   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TeamMembership is a person's membership of a team.
type TeamMembership struct {
	User *User
	Role TeamRole
}

// TeamRepo is a team's grant on one repository.
type TeamRepo struct {
	Repo       *Repo
	Permission Permission
}

// Grants are what a person holds on a repository, besides owning it: the
// inputs of authz.Role, loaded by the store in one query.
type Grants struct {
	// Collaborator is the direct collaborator grant.
	Collaborator Permission
	// Team is the highest grant of a team the person belongs to.
	Team Permission
	// OrgRole is the person's role in the organization that owns the
	// repository ("" for none, or when a user owns it).
	OrgRole OrgRole
	// Base is the owning organization's base permission for members.
	Base Permission
	// Policy is the owning organization's token policy (nil when a user
	// owns the repository), loaded by the service for token callers.
	Policy *TokenPolicy
}

// Slugify turns a team name into its slug as GitHub does: lowercase, runs
// of anything but letters and digits become one hyphen, no hyphen at
// either end.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// OrgStore keeps organizations, memberships and teams. The SQL adapters
// implement it beside Store; the contract suite checks both.
//
// Methods return *Error values: NotFound for a missing organization,
// user, team or repository; Conflict for a taken login or team slug;
// Invalid for values the database refuses; Internal for everything else.
type OrgStore interface {
	// CreateOrg inserts org (IsOrg set, no password) and makes ownerID its
	// first owner, in one transaction. Returns Conflict when the login is
	// taken, NotFound when the owner does not exist.
	CreateOrg(ctx context.Context, org *User, ownerID int64) error
	// UpdateOrg saves name, email, description and base permission.
	UpdateOrg(ctx context.Context, org *User) error
	// ListOrgs returns organizations ordered by login.
	ListOrgs(ctx context.Context, page Page) ([]*User, error)

	// SetMembership adds userID to orgID with role, or changes the role.
	SetMembership(ctx context.Context, orgID, userID int64, role OrgRole) error
	// RemoveMembership removes userID from orgID and from all its teams.
	// Returns NotFound when userID is not a member.
	RemoveMembership(ctx context.Context, orgID, userID int64) error
	// Membership returns userID's role in orgID, or "" when none.
	Membership(ctx context.Context, orgID, userID int64) (OrgRole, error)
	// ListMembers returns the members of orgID ordered by login; role ""
	// lists every role.
	ListMembers(ctx context.Context, orgID int64, role OrgRole, page Page) ([]Membership, error)
	// CountOwners returns the number of owners of orgID.
	CountOwners(ctx context.Context, orgID int64) (int, error)
	// ListUserMemberships returns userID's memberships ordered by the
	// organization's login.
	ListUserMemberships(ctx context.Context, userID int64, page Page) ([]Membership, error)

	// CreateTeam inserts t and sets its ID and times. Returns Conflict
	// when the organization has a team with that slug.
	CreateTeam(ctx context.Context, t *Team) error
	// UpdateTeam saves name, slug, description and privacy. Returns
	// NotFound, Conflict.
	UpdateTeam(ctx context.Context, t *Team) error
	// DeleteTeam removes a team, its memberships and grants.
	DeleteTeam(ctx context.Context, id int64) error
	// FindTeam looks a team up by organization and slug. Returns NotFound.
	FindTeam(ctx context.Context, orgID int64, slug string) (*Team, error)
	// ListTeams returns the teams of orgID ordered by name.
	ListTeams(ctx context.Context, orgID int64, page Page) ([]*Team, error)
	// ListUserTeams returns the teams userID belongs to, in every
	// organization, ordered by organization and name.
	ListUserTeams(ctx context.Context, userID int64, page Page) ([]*Team, error)
	// SetTeamMembership adds userID to the team with role, or changes the
	// role.
	SetTeamMembership(ctx context.Context, teamID, userID int64, role TeamRole) error
	// RemoveTeamMembership removes userID from the team. Returns NotFound
	// when userID is not a member.
	RemoveTeamMembership(ctx context.Context, teamID, userID int64) error
	// TeamMembership returns userID's role in the team, or "" when none.
	TeamMembership(ctx context.Context, teamID, userID int64) (TeamRole, error)
	// ListTeamMembers returns the team's members ordered by login.
	ListTeamMembers(ctx context.Context, teamID int64, page Page) ([]TeamMembership, error)
	// SetTeamRepo grants the team p on the repository (PermNone removes
	// the grant).
	SetTeamRepo(ctx context.Context, teamID, repoID int64, p Permission) error
	// TeamRepoPermission returns the team's grant on the repository, or
	// PermNone.
	TeamRepoPermission(ctx context.Context, teamID, repoID int64) (Permission, error)
	// ListTeamRepos returns the team's grants ordered by repository.
	ListTeamRepos(ctx context.Context, teamID int64, page Page) ([]TeamRepo, error)

	// RepoGrants returns what userID holds on the repository besides
	// owning it.
	RepoGrants(ctx context.Context, repoID, userID int64) (Grants, error)

	// TokenPolicy returns the organization's personal access token
	// policy, DefaultTokenPolicy when none was saved.
	TokenPolicy(ctx context.Context, orgID int64) (TokenPolicy, error)
	// SetTokenPolicy saves p for p.OrgID.
	SetTokenPolicy(ctx context.Context, p TokenPolicy) error
}

// TokenPolicy is what an organization lets personal access tokens do with
// its resources (SPEC §10.4).
type TokenPolicy struct {
	OrgID int64
	// RestrictClassic refuses classic tokens on the organization's
	// resources.
	RestrictClassic bool
	// RestrictFineGrained refuses fine-grained tokens that target it.
	RestrictFineGrained bool
	// RequireApproval makes fine-grained tokens of members who are not
	// owners pending until an owner approves them.
	RequireApproval bool
	// MaxClassicDays and MaxFineGrainedDays bound a token's lifetime
	// (0: no bound), at creation, regeneration and use.
	MaxClassicDays     int
	MaxFineGrainedDays int
}

// DefaultTokenPolicy is GitHub's default: both kinds allowed, fine-grained
// tokens need approval, no lifetime bound.
func DefaultTokenPolicy(orgID int64) TokenPolicy {
	return TokenPolicy{OrgID: orgID, RequireApproval: true}
}
