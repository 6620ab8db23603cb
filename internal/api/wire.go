package api

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Wire types: the JSON GitHub sends, field for field, in GitHub's order.
// They are built from domain values by the functions below and are never
// stored. Their encodings are locked by testdata/*.golden.json.

// timestamp encodes as RFC 3339 in UTC with second precision, the form
// GitHub uses ("2011-01-26T19:01:12Z"), and the zero time as null.
type timestamp time.Time

func (t timestamp) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + tt.UTC().Format(time.RFC3339) + `"`), nil
}

// nodeID builds a GitHub-style global node id: base64 of
// "0<len(type)>:<type><id>", as GitHub's legacy ids are
// ("MDEwOlJlcG9zaXRvcnkx" is repository 1).
func nodeID(typ string, id int64) string {
	s := "0" + strconv.Itoa(len(typ)) + ":" + typ + strconv.FormatInt(id, 10)
	return base64.StdEncoding.EncodeToString([]byte(s))
}

// parseNodeID is the inverse of nodeID for the given type.
func parseNodeID(typ, id string) (int64, bool) {
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		return 0, false
	}
	_, rest, ok := strings.Cut(string(raw), ":")
	if !ok {
		return 0, false
	}
	num, ok := strings.CutPrefix(rest, typ)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	return n, err == nil && n > 0
}

// simpleUser is GitHub's "simple-user": the owner of a repository, a
// collaborator, the user of a token.
type simpleUser struct {
	Login             string `json:"login"`
	ID                int64  `json:"id"`
	NodeID            string `json:"node_id"`
	AvatarURL         string `json:"avatar_url"`
	GravatarID        string `json:"gravatar_id"`
	URL               string `json:"url"`
	HTMLURL           string `json:"html_url"`
	FollowersURL      string `json:"followers_url"`
	FollowingURL      string `json:"following_url"`
	GistsURL          string `json:"gists_url"`
	StarredURL        string `json:"starred_url"`
	SubscriptionsURL  string `json:"subscriptions_url"`
	OrganizationsURL  string `json:"organizations_url"`
	ReposURL          string `json:"repos_url"`
	EventsURL         string `json:"events_url"`
	ReceivedEventsURL string `json:"received_events_url"`
	Type              string `json:"type"`
	SiteAdmin         bool   `json:"site_admin"`
}

// publicUser is GET /users/{username}, and GET /user for a token without
// the user scope.
type publicUser struct {
	simpleUser
	Name            *string   `json:"name"`
	Company         *string   `json:"company"`
	Blog            string    `json:"blog"`
	Location        *string   `json:"location"`
	Email           *string   `json:"email"`
	Hireable        *bool     `json:"hireable"`
	Bio             *string   `json:"bio"`
	TwitterUsername *string   `json:"twitter_username"`
	PublicGists     int       `json:"public_gists"`
	Followers       int       `json:"followers"`
	Following       int       `json:"following"`
	CreatedAt       timestamp `json:"created_at"`
	UpdatedAt       timestamp `json:"updated_at"`
	Suspended       timestamp `json:"suspended_at"`
}

// privateUser is GET /user for a token with the user scope (or read:user):
// the public profile plus what only the owner sees.
type privateUser struct {
	publicUser
	PrivateGists            int  `json:"private_gists"`
	TwoFactorAuthentication bool `json:"two_factor_authentication"`
}

// simpleUser converts a user or an organization: an organization owning a
// repository is its owner object, with type "Organization" and an
// organization node id, as on GitHub.
func (h *Handler) simpleUser(u *gatehouse.User) simpleUser {
	api := h.apiBase + "/users/" + u.Login
	return simpleUser{
		Login:             u.Login,
		ID:                u.ID,
		NodeID:            nodeID(u.Type(), u.ID),
		AvatarURL:         h.base + "/avatars/" + u.Login,
		GravatarID:        "",
		URL:               api,
		HTMLURL:           h.base + "/" + u.Login,
		FollowersURL:      api + "/followers",
		FollowingURL:      api + "/following{/other_user}",
		GistsURL:          api + "/gists{/gist_id}",
		StarredURL:        api + "/starred{/owner}{/repo}",
		SubscriptionsURL:  api + "/subscriptions",
		OrganizationsURL:  api + "/orgs",
		ReposURL:          api + "/repos",
		EventsURL:         api + "/events{/privacy}",
		ReceivedEventsURL: api + "/received_events",
		Type:              u.Type(),
		SiteAdmin:         u.SiteAdmin && !u.IsOrg,
	}
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (h *Handler) publicUser(u *gatehouse.User) publicUser {
	pu := publicUser{
		simpleUser: h.simpleUser(u),
		Name:       optString(u.Name),
		CreatedAt:  timestamp(u.CreatedAt),
		UpdatedAt:  timestamp(u.UpdatedAt),
	}
	if u.Suspended {
		pu.Suspended = timestamp(u.UpdatedAt)
	}
	if u.IsOrg {
		// An organization's profile text is its bio here, as on GitHub.
		pu.Bio = optString(u.Description)
	}
	return pu
}

func (h *Handler) privateUser(u *gatehouse.User) privateUser {
	pu := privateUser{publicUser: h.publicUser(u)}
	pu.Email = optString(u.Email)
	return pu
}

// permissions is a repository's permissions object for the caller.
type permissions struct {
	Admin    bool `json:"admin"`
	Maintain bool `json:"maintain"`
	Push     bool `json:"push"`
	Triage   bool `json:"triage"`
	Pull     bool `json:"pull"`
}

func permissionsOf(p gatehouse.Permission) permissions {
	return permissions{
		Admin:    p >= gatehouse.PermAdmin,
		Maintain: p >= gatehouse.PermAdmin,
		Push:     p >= gatehouse.PermWrite,
		Triage:   p >= gatehouse.PermWrite,
		Pull:     p >= gatehouse.PermRead,
	}
}

// roleName is GitHub's name for a permission level.
func roleName(p gatehouse.Permission) string {
	switch p {
	case gatehouse.PermAdmin:
		return "admin"
	case gatehouse.PermWrite:
		return "write"
	case gatehouse.PermRead:
		return "read"
	}
	return "none"
}

// repository is GitHub's "repository" / "full-repository".
type repository struct {
	ID                       int64        `json:"id"`
	NodeID                   string       `json:"node_id"`
	Name                     string       `json:"name"`
	FullName                 string       `json:"full_name"`
	Private                  bool         `json:"private"`
	Owner                    simpleUser   `json:"owner"`
	HTMLURL                  string       `json:"html_url"`
	Description              *string      `json:"description"`
	Fork                     bool         `json:"fork"`
	URL                      string       `json:"url"`
	ArchiveURL               string       `json:"archive_url"`
	BranchesURL              string       `json:"branches_url"`
	CollaboratorsURL         string       `json:"collaborators_url"`
	CommitsURL               string       `json:"commits_url"`
	ContentsURL              string       `json:"contents_url"`
	GitRefsURL               string       `json:"git_refs_url"`
	HooksURL                 string       `json:"hooks_url"`
	IssuesURL                string       `json:"issues_url"`
	KeysURL                  string       `json:"keys_url"`
	PullsURL                 string       `json:"pulls_url"`
	TagsURL                  string       `json:"tags_url"`
	TreesURL                 string       `json:"trees_url"`
	CreatedAt                timestamp    `json:"created_at"`
	UpdatedAt                timestamp    `json:"updated_at"`
	PushedAt                 timestamp    `json:"pushed_at"`
	GitURL                   string       `json:"git_url"`
	SSHURL                   string       `json:"ssh_url"`
	CloneURL                 string       `json:"clone_url"`
	SvnURL                   string       `json:"svn_url"`
	Homepage                 *string      `json:"homepage"`
	Size                     int          `json:"size"`
	StargazersCount          int          `json:"stargazers_count"`
	WatchersCount            int          `json:"watchers_count"`
	Language                 *string      `json:"language"`
	HasIssues                bool         `json:"has_issues"`
	HasProjects              bool         `json:"has_projects"`
	HasDownloads             bool         `json:"has_downloads"`
	HasWiki                  bool         `json:"has_wiki"`
	HasPages                 bool         `json:"has_pages"`
	HasDiscussions           bool         `json:"has_discussions"`
	ForksCount               int          `json:"forks_count"`
	MirrorURL                *string      `json:"mirror_url"`
	Archived                 bool         `json:"archived"`
	Disabled                 bool         `json:"disabled"`
	OpenIssuesCount          int          `json:"open_issues_count"`
	License                  *struct{}    `json:"license"`
	AllowForking             bool         `json:"allow_forking"`
	IsTemplate               bool         `json:"is_template"`
	WebCommitSignoffRequired bool         `json:"web_commit_signoff_required"`
	Topics                   []string     `json:"topics"`
	Visibility               string       `json:"visibility"`
	Forks                    int          `json:"forks"`
	OpenIssues               int          `json:"open_issues"`
	Watchers                 int          `json:"watchers"`
	DefaultBranch            string       `json:"default_branch"`
	Permissions              *permissions `json:"permissions,omitempty"`
}

// repository converts r for a caller holding perm; anonymous callers get
// no permissions object, as on GitHub.
func (h *Handler) repository(r *gatehouse.Repo, owner *gatehouse.User, perm gatehouse.Permission, signedIn bool) repository {
	api := h.apiBase + "/repos/" + r.Owner + "/" + r.Name
	html := h.base + "/" + r.Owner + "/" + r.Name
	vis := "public"
	if r.Private {
		vis = "private"
	}
	out := repository{
		ID:               r.ID,
		NodeID:           nodeID("Repository", r.ID),
		Name:             r.Name,
		FullName:         r.FullName(),
		Private:          r.Private,
		Archived:         r.Archived(),
		Owner:            h.simpleUser(owner),
		HTMLURL:          html,
		Description:      optString(r.Description),
		URL:              api,
		ArchiveURL:       api + "/{archive_format}{/ref}",
		BranchesURL:      api + "/branches{/branch}",
		CollaboratorsURL: api + "/collaborators{/collaborator}",
		CommitsURL:       api + "/commits{/sha}",
		ContentsURL:      api + "/contents/{+path}",
		GitRefsURL:       api + "/git/refs{/sha}",
		HooksURL:         api + "/hooks",
		IssuesURL:        api + "/issues{/number}",
		KeysURL:          api + "/keys{/key_id}",
		PullsURL:         api + "/pulls{/number}",
		TagsURL:          api + "/tags",
		TreesURL:         api + "/git/trees{/sha}",
		CreatedAt:        timestamp(r.CreatedAt),
		UpdatedAt:        timestamp(r.UpdatedAt),
		PushedAt:         timestamp(r.PushedAt),
		GitURL:           "git://" + h.host + "/" + r.FullName() + ".git",
		SSHURL:           "git@" + h.host + ":" + r.FullName() + ".git",
		CloneURL:         html + ".git",
		SvnURL:           html,
		Topics:           []string{},
		Visibility:       vis,
		DefaultBranch:    r.DefaultBranch,
		AllowForking:     false,
	}
	if signedIn {
		p := permissionsOf(perm)
		out.Permissions = &p
	}
	return out
}

// key is GitHub's "key" (GET /user/keys).
type key struct {
	ID        int64     `json:"id"`
	Key       string    `json:"key"`
	URL       string    `json:"url"`
	Title     string    `json:"title"`
	Verified  bool      `json:"verified"`
	CreatedAt timestamp `json:"created_at"`
	ReadOnly  bool      `json:"read_only"`
	LastUsed  timestamp `json:"last_used"`
}

func (h *Handler) key(k *gatehouse.Key) key {
	return key{
		ID:        k.ID,
		Key:       k.Key,
		URL:       h.apiBase + "/user/keys/" + strconv.FormatInt(k.ID, 10),
		Title:     k.Title,
		Verified:  true,
		CreatedAt: timestamp(k.CreatedAt),
		LastUsed:  timestamp(k.LastUsedAt),
	}
}

// publicKey is GitHub's "key-simple" (GET /users/{username}/keys).
type publicKey struct {
	ID  int64  `json:"id"`
	Key string `json:"key"`
}

// email is one entry of GET /user/emails.
type email struct {
	Email      string  `json:"email"`
	Primary    bool    `json:"primary"`
	Verified   bool    `json:"verified"`
	Visibility *string `json:"visibility"`
}

// authorization is GHES's "authorization" object, which the site admin
// token endpoints list. The secret is never sent: token is always "".
type authorization struct {
	ID             int64       `json:"id"`
	URL            string      `json:"url"`
	Scopes         []string    `json:"scopes"`
	Token          string      `json:"token"`
	TokenLastEight string      `json:"token_last_eight"`
	HashedToken    string      `json:"hashed_token"`
	App            app         `json:"app"`
	Note           string      `json:"note"`
	NoteURL        *string     `json:"note_url"`
	UpdatedAt      timestamp   `json:"updated_at"`
	CreatedAt      timestamp   `json:"created_at"`
	Fingerprint    *string     `json:"fingerprint"`
	User           *simpleUser `json:"user"`
	Installation   *struct{}   `json:"installation"`
	ExpiresAt      timestamp   `json:"expires_at"`
	// Kind is "classic" or "fine_grained": GHES lists only classic
	// tokens here, Gatehouse both (SPEC §10.1). Fine-grained ones also
	// name their resource owner and approval state.
	Kind          string          `json:"kind"`
	ResourceOwner *string         `json:"resource_owner,omitempty"`
	Approval      *string         `json:"approval,omitempty"`
	Permissions   *patPermissions `json:"permissions,omitempty"`
}

type app struct {
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
	URL      string `json:"url"`
}

func (h *Handler) authorization(t *gatehouse.Token, u *gatehouse.User) authorization {
	a := authorization{
		ID:             t.ID,
		URL:            h.apiBase + "/authorizations/" + strconv.FormatInt(t.ID, 10),
		Scopes:         t.Scopes,
		Token:          "",
		TokenLastEight: t.LastEight,
		HashedToken:    t.Hash,
		App: app{
			ClientID: "00000000000000000000",
			Name:     t.Note,
			URL:      h.base + "/settings/tokens",
		},
		Note:      t.Note,
		UpdatedAt: timestamp(t.UpdatedAt),
		CreatedAt: timestamp(t.CreatedAt),
		ExpiresAt: timestamp(t.ExpiresAt),
	}
	if a.Scopes == nil {
		a.Scopes = []string{}
	}
	a.Kind = "classic"
	if t.FineGrained() {
		a.Kind = "fine_grained"
		a.App.URL = h.base + "/settings/personal-access-tokens"
		approval := string(t.Approval)
		if approval == "" {
			approval = "approved"
		}
		perms := tokenPermissions(t)
		a.Approval, a.Permissions = &approval, &perms
	}
	if u != nil {
		su := h.simpleUser(u)
		a.User = &su
	}
	return a
}

// collaborator is a "collaborator": a simple user with its permissions.
type collaborator struct {
	simpleUser
	Permissions permissions `json:"permissions"`
	RoleName    string      `json:"role_name"`
}

// repoPermission is GET …/collaborators/{username}/permission.
type repoPermission struct {
	Permission string       `json:"permission"`
	RoleName   string       `json:"role_name"`
	User       collaborator `json:"user"`
}

// legacyPermission is the "permission" field of repoPermission, which
// predates the role names: admin, write, read or none.
func legacyPermission(p gatehouse.Permission) string { return roleName(p) }

// content is a file from the contents API (here: the README).
type content struct {
	Type        string `json:"type"`
	Encoding    string `json:"encoding"`
	Size        int    `json:"size"`
	Name        string `json:"name"`
	Path        string `json:"path"`
	Content     string `json:"content"`
	SHA         string `json:"sha"`
	URL         string `json:"url"`
	GitURL      string `json:"git_url"`
	HTMLURL     string `json:"html_url"`
	DownloadURL string `json:"download_url"`
	Links       links  `json:"_links"`
}

type links struct {
	Self string `json:"self"`
	Git  string `json:"git"`
	HTML string `json:"html"`
}

// rateResource is one resource in GET /rate_limit.
type rateResource struct {
	Limit     int    `json:"limit"`
	Remaining int    `json:"remaining"`
	Reset     int64  `json:"reset"`
	Used      int    `json:"used"`
	Resource  string `json:"resource"`
}

type rateLimits struct {
	Resources map[string]rateResource `json:"resources"`
	Rate      rateResource            `json:"rate"`
}

// organization is GitHub's "organization-simple": GET /user/orgs, the
// organization of a membership, POST /admin/organizations.
type organization struct {
	Login            string  `json:"login"`
	ID               int64   `json:"id"`
	NodeID           string  `json:"node_id"`
	URL              string  `json:"url"`
	ReposURL         string  `json:"repos_url"`
	EventsURL        string  `json:"events_url"`
	HooksURL         string  `json:"hooks_url"`
	IssuesURL        string  `json:"issues_url"`
	MembersURL       string  `json:"members_url"`
	PublicMembersURL string  `json:"public_members_url"`
	AvatarURL        string  `json:"avatar_url"`
	Description      *string `json:"description"`
}

// organizationFull is GitHub's "organization-full" (GET and PATCH
// /orgs/{org}). The settings are sent to owners using a token with
// admin:org (or a browser session) only, as on GitHub.
type organizationFull struct {
	organization
	Name                    *string   `json:"name"`
	Company                 *string   `json:"company"`
	Blog                    *string   `json:"blog"`
	Location                *string   `json:"location"`
	Email                   *string   `json:"email"`
	TwitterUsername         *string   `json:"twitter_username"`
	IsVerified              bool      `json:"is_verified"`
	HasOrganizationProjects bool      `json:"has_organization_projects"`
	HasRepositoryProjects   bool      `json:"has_repository_projects"`
	PublicRepos             int       `json:"public_repos"`
	PublicGists             int       `json:"public_gists"`
	Followers               int       `json:"followers"`
	Following               int       `json:"following"`
	HTMLURL                 string    `json:"html_url"`
	CreatedAt               timestamp `json:"created_at"`
	Type                    string    `json:"type"`
	*orgSettings
	UpdatedAt  timestamp `json:"updated_at"`
	ArchivedAt timestamp `json:"archived_at"`
}

// orgSettings are the owner-only fields of organization-full. Gatehouse
// lets every member create repositories, public or private, and has no
// pages, internal repositories, forks or billing plans.
type orgSettings struct {
	TotalPrivateRepos                    int     `json:"total_private_repos"`
	OwnedPrivateRepos                    int     `json:"owned_private_repos"`
	PrivateGists                         int     `json:"private_gists"`
	DiskUsage                            int     `json:"disk_usage"`
	Collaborators                        int     `json:"collaborators"`
	BillingEmail                         *string `json:"billing_email"`
	DefaultRepositoryPermission          string  `json:"default_repository_permission"`
	MembersCanCreateRepositories         bool    `json:"members_can_create_repositories"`
	TwoFactorRequirementEnabled          bool    `json:"two_factor_requirement_enabled"`
	MembersAllowedRepositoryCreationType string  `json:"members_allowed_repository_creation_type"`
	MembersCanCreatePublicRepositories   bool    `json:"members_can_create_public_repositories"`
	MembersCanCreatePrivateRepositories  bool    `json:"members_can_create_private_repositories"`
	MembersCanCreateInternalRepositories bool    `json:"members_can_create_internal_repositories"`
	MembersCanCreatePages                bool    `json:"members_can_create_pages"`
	MembersCanCreatePublicPages          bool    `json:"members_can_create_public_pages"`
	MembersCanCreatePrivatePages         bool    `json:"members_can_create_private_pages"`
	MembersCanForkPrivateRepositories    bool    `json:"members_can_fork_private_repositories"`
	WebCommitSignoffRequired             bool    `json:"web_commit_signoff_required"`
}

func (h *Handler) organization(o *gatehouse.User) organization {
	api := h.apiBase + "/orgs/" + o.Login
	return organization{
		Login:            o.Login,
		ID:               o.ID,
		NodeID:           nodeID("Organization", o.ID),
		URL:              api,
		ReposURL:         api + "/repos",
		EventsURL:        api + "/events",
		HooksURL:         api + "/hooks",
		IssuesURL:        api + "/issues",
		MembersURL:       api + "/members{/member}",
		PublicMembersURL: api + "/public_members{/member}",
		AvatarURL:        h.base + "/avatars/" + o.Login,
		Description:      optString(o.Description),
	}
}

// orgCounts are the counters of organization-full that need listings.
type orgCounts struct {
	publicRepos, privateRepos int
}

// organizationFull converts o; settings is nil unless the caller may see
// them.
func (h *Handler) organizationFull(o *gatehouse.User, c orgCounts, showSettings bool) organizationFull {
	out := organizationFull{
		organization: h.organization(o),
		Name:         optString(o.Name),
		Email:        optString(o.Email),
		PublicRepos:  c.publicRepos,
		HTMLURL:      h.base + "/" + o.Login,
		CreatedAt:    timestamp(o.CreatedAt),
		Type:         "Organization",
		UpdatedAt:    timestamp(o.UpdatedAt),
	}
	if showSettings {
		out.orgSettings = &orgSettings{
			TotalPrivateRepos:                    c.privateRepos,
			OwnedPrivateRepos:                    c.privateRepos,
			BillingEmail:                         optString(o.Email),
			DefaultRepositoryPermission:          o.BasePermission.String(),
			MembersCanCreateRepositories:         true,
			MembersAllowedRepositoryCreationType: "all",
			MembersCanCreatePublicRepositories:   true,
			MembersCanCreatePrivateRepositories:  true,
		}
	}
	return out
}

// orgMembership is GitHub's "org-membership". Gatehouse adds members at
// once, so state is always "active" (GitHub says "pending" until an
// invitation is accepted).
type orgMembership struct {
	URL             string                `json:"url"`
	State           string                `json:"state"`
	Role            string                `json:"role"`
	OrganizationURL string                `json:"organization_url"`
	Organization    organization          `json:"organization"`
	User            simpleUser            `json:"user"`
	Permissions     membershipPermissions `json:"permissions"`
}

type membershipPermissions struct {
	CanCreateRepository bool `json:"can_create_repository"`
}

func (h *Handler) orgMembership(m *gatehouse.Membership) orgMembership {
	org := h.apiBase + "/orgs/" + m.Org.Login
	return orgMembership{
		URL:             org + "/memberships/" + m.User.Login,
		State:           "active",
		Role:            string(m.Role),
		OrganizationURL: org,
		Organization:    h.organization(m.Org),
		User:            h.simpleUser(m.User),
		Permissions:     membershipPermissions{CanCreateRepository: true},
	}
}

// team is GitHub's "team" (lists). Its URLs name the routes Gatehouse
// serves (/orgs/{org}/teams/{slug}…) rather than GitHub's /teams/{id}.
// Nested teams do not exist here: parent is always null.
type team struct {
	ID                  int64     `json:"id"`
	NodeID              string    `json:"node_id"`
	URL                 string    `json:"url"`
	HTMLURL             string    `json:"html_url"`
	Name                string    `json:"name"`
	Slug                string    `json:"slug"`
	Description         *string   `json:"description"`
	Privacy             string    `json:"privacy"`
	NotificationSetting string    `json:"notification_setting"`
	Permission          string    `json:"permission"`
	MembersURL          string    `json:"members_url"`
	RepositoriesURL     string    `json:"repositories_url"`
	Parent              *struct{} `json:"parent"`
}

// teamFull is GitHub's "team-full" (one team, GET /user/teams).
type teamFull struct {
	team
	MembersCount int              `json:"members_count"`
	ReposCount   int              `json:"repos_count"`
	CreatedAt    timestamp        `json:"created_at"`
	UpdatedAt    timestamp        `json:"updated_at"`
	Organization organizationFull `json:"organization"`
}

func (h *Handler) team(t *gatehouse.Team) team {
	api := h.apiBase + "/orgs/" + t.Org + "/teams/" + t.Slug
	return team{
		ID:                  t.ID,
		NodeID:              nodeID("Team", t.ID),
		URL:                 api,
		HTMLURL:             h.base + "/orgs/" + t.Org + "/teams/" + t.Slug,
		Name:                t.Name,
		Slug:                t.Slug,
		Description:         optString(t.Description),
		Privacy:             t.Privacy,
		NotificationSetting: "notifications_enabled",
		Permission:          "pull",
		MembersURL:          api + "/members{/member}",
		RepositoriesURL:     api + "/repos",
	}
}

// teamMembership is GitHub's "team-membership"; state is always "active"
// (members are added at once).
type teamMembership struct {
	URL   string `json:"url"`
	Role  string `json:"role"`
	State string `json:"state"`
}

func (h *Handler) teamMembership(org *gatehouse.User, slug string, m *gatehouse.TeamMembership) teamMembership {
	return teamMembership{
		URL:   h.apiBase + "/orgs/" + org.Login + "/teams/" + strings.ToLower(slug) + "/memberships/" + m.User.Login,
		Role:  string(m.Role),
		State: "active",
	}
}

// teamRepository is GitHub's "team-repository": a repository with the
// team's permissions on it (not the caller's) and the team's role name.
type teamRepository struct {
	repository
	RoleName string `json:"role_name"`
}

func (h *Handler) teamRepository(r *gatehouse.Repo, owner *gatehouse.User, p gatehouse.Permission) teamRepository {
	return teamRepository{repository: h.repository(r, owner, p, true), RoleName: roleName(p)}
}
