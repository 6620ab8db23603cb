package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/token"
)

// route is one line of the route table. Everything the pipeline enforces
// before a handler runs is declared here, and nowhere else.
type route struct {
	method  string
	pattern string // ServeMux pattern path, with {wildcards}
	// auth: anonymous callers get 401 "Requires authentication".
	auth bool
	// scopes: the token must carry one of these (or a scope that implies
	// it, as repo implies public_repo); otherwise deny applies. Empty: no
	// scope is needed.
	scopes []string
	deny   denial
	// repo: the route names a repository as {owner}/{repo}; the handler
	// loads it through request.repo, which asks authz.Authorizer.Repo for
	// action (and so applies the repo/public_repo scope rules).
	repo   bool
	action authz.Action
	// perm is what a fine-grained token needs (SPEC §10.2), beside the
	// classic scopes: checked before the handler for routes that name no
	// repository, and by the service's repository decision for those that
	// do (a public repository is readable without it). Zero: nothing
	// beyond what the service decides; a route with scopes but no perm
	// refuses fine-grained tokens (site administration).
	perm token.Permission
	// siteAdmin: only site administrators (403 for others).
	siteAdmin bool
	// limit names the rate limit resource the call counts against
	// ("core", "graphql"), or "" for calls that are not counted.
	limit string
	// resource names the object in 422 errors ("Repository").
	resource string
	handle   func(*request) error

	// acceptedHeader is X-Accepted-OAuth-Scopes, computed from the above;
	// permHeader X-Accepted-GitHub-Permissions, for fine-grained tokens.
	acceptedHeader []string
	permHeader     []string
}

// denial is the answer to a token that lacks the route's scopes. GitHub
// mostly answers 404 so that a token cannot probe what exists; where it
// documents 403 the route says so, with GitHub's text.
type denial struct {
	code    int
	message string
}

func (d denial) status() int {
	if d.code == 0 {
		return http.StatusNotFound
	}
	return d.code
}

func (d denial) text() string {
	if d.message == "" {
		return msgNotFound
	}
	return d.message
}

const (
	msgSiteAdmin     = "Must be a site administrator, using a personal access token with the site_admin scope."
	msgAdminRights   = "Must have admin rights to Repository."
	msgPushAccess    = "Must have push access to Repository."
	msgOrgScope      = "You need at least read:org scope or user scope to list your organizations."
	msgDeleteInUse   = "The personal access token used for this request cannot be deleted with itself."
	msgNoRateLimit   = "Rate limiting is not enabled."
	msgReadmeMissing = "Not Found"
)

// table is the route table: every route of the API, once.
func (h *Handler) table() []*route {
	p := func(s string) string { return Prefix + s }
	adminDeny := denial{http.StatusForbidden, msgSiteAdmin}
	orgDeny := denial{http.StatusForbidden, msgOrgScope}
	routes := []*route{
		// Meta. GET / is gh's token check: it must answer 200 with the
		// scopes header, with or without the trailing slash.
		{method: "GET", pattern: p("/{$}"), limit: "core", handle: h.handleRoot},
		{method: "GET", pattern: Prefix, limit: "core", handle: h.handleRoot},
		{method: "GET", pattern: p("/meta"), limit: "core", handle: h.handleMeta},
		{method: "GET", pattern: p("/zen"), limit: "core", handle: h.handleZen},
		{method: "GET", pattern: p("/rate_limit"), handle: h.handleRateLimit},

		// Leaked-token reporting: anyone who finds a token may revoke it.
		// Bounded and rate limited by the service; always 202.
		{method: "POST", pattern: p("/credentials/revoke"), limit: "core", resource: "Credentials", handle: h.handleCredentialsRevoke},

		// The authenticated user.
		{method: "GET", pattern: p("/user"), auth: true, limit: "core", resource: "User", handle: h.handleUserGet},
		{method: "PATCH", pattern: p("/user"), perm: authz.ProfileWrite, auth: true, scopes: []string{"user"}, limit: "core", resource: "User", handle: h.handleUserPatch},
		{method: "GET", pattern: p("/user/emails"), perm: authz.EmailsRead, auth: true, scopes: []string{"user:email"}, limit: "core", handle: h.handleUserEmails},
		{method: "GET", pattern: p("/user/repos"), auth: true, limit: "core", handle: h.handleUserRepos},
		{method: "POST", pattern: p("/user/repos"), perm: authz.AdministrationWrite, auth: true, scopes: []string{"public_repo", "repo"}, limit: "core", resource: "Repository", handle: h.handleRepoCreate},
		{method: "GET", pattern: p("/user/keys"), perm: authz.KeysRead, auth: true, scopes: []string{"read:public_key"}, limit: "core", handle: h.handleKeyList},
		{method: "POST", pattern: p("/user/keys"), perm: authz.KeysWrite, auth: true, scopes: []string{"write:public_key"}, limit: "core", resource: "PublicKey", handle: h.handleKeyCreate},
		{method: "GET", pattern: p("/user/keys/{id}"), perm: authz.KeysRead, auth: true, scopes: []string{"read:public_key"}, limit: "core", handle: h.handleKeyGet},
		{method: "DELETE", pattern: p("/user/keys/{id}"), perm: authz.KeysWrite, auth: true, scopes: []string{"admin:public_key"}, limit: "core", handle: h.handleKeyDelete},
		{method: "GET", pattern: p("/user/orgs"), perm: authz.MetadataRead, auth: true, scopes: []string{"read:org", "user"}, deny: orgDeny, limit: "core", handle: h.handleUserOrgs},
		{method: "GET", pattern: p("/user/memberships/orgs"), perm: authz.MetadataRead, auth: true, scopes: []string{"read:org", "user"}, deny: orgDeny, limit: "core", handle: h.handleUserMemberships},
		{method: "GET", pattern: p("/user/teams"), perm: authz.MetadataRead, auth: true, scopes: []string{"read:org", "user", "repo"}, limit: "core", handle: h.handleUserTeams},

		// Users and organizations.
		{method: "GET", pattern: p("/users/{username}"), limit: "core", handle: h.handleUserShow},
		{method: "GET", pattern: p("/users/{username}/repos"), limit: "core", handle: h.handleUserReposPublic},
		{method: "GET", pattern: p("/users/{username}/keys"), limit: "core", handle: h.handleUserKeysPublic},

		// Organizations. Reading is open (memberships and teams need
		// read:org, and the service conceals them from outsiders);
		// write:org changes memberships, admin:org settings and teams.
		{method: "GET", pattern: p("/orgs/{org}"), limit: "core", handle: h.handleOrgShow},
		{method: "PATCH", pattern: p("/orgs/{org}"), perm: authz.OrgAdminWrite, auth: true, scopes: []string{"admin:org"}, limit: "core", resource: "Organization", handle: h.handleOrgPatch},
		{method: "GET", pattern: p("/orgs/{org}/members"), limit: "core", handle: h.handleOrgMembers},
		{method: "GET", pattern: p("/orgs/{org}/memberships/{username}"), perm: authz.MembersRead, auth: true, scopes: []string{"read:org"}, limit: "core", handle: h.handleMembershipGet},
		{method: "PUT", pattern: p("/orgs/{org}/memberships/{username}"), perm: authz.MembersWrite, auth: true, scopes: []string{"write:org"}, limit: "core", resource: "Membership", handle: h.handleMembershipPut},
		{method: "DELETE", pattern: p("/orgs/{org}/memberships/{username}"), perm: authz.MembersWrite, auth: true, scopes: []string{"write:org"}, limit: "core", resource: "Membership", handle: h.handleMembershipDelete},
		{method: "GET", pattern: p("/orgs/{org}/repos"), limit: "core", handle: h.handleOrgRepos},
		{method: "POST", pattern: p("/orgs/{org}/repos"), perm: authz.AdministrationWrite, auth: true, scopes: []string{"public_repo", "repo"}, limit: "core", resource: "Repository", handle: h.handleOrgRepoCreate},

		// Teams.
		{method: "GET", pattern: p("/orgs/{org}/teams"), perm: authz.MembersRead, auth: true, scopes: []string{"read:org"}, limit: "core", handle: h.handleTeamList},
		{method: "POST", pattern: p("/orgs/{org}/teams"), perm: authz.MembersWrite, auth: true, scopes: []string{"admin:org"}, limit: "core", resource: "Team", handle: h.handleTeamCreate},
		{method: "GET", pattern: p("/orgs/{org}/teams/{team_slug}"), perm: authz.MembersRead, auth: true, scopes: []string{"read:org"}, limit: "core", handle: h.handleTeamGet},
		{method: "PATCH", pattern: p("/orgs/{org}/teams/{team_slug}"), perm: authz.MembersWrite, auth: true, scopes: []string{"admin:org"}, limit: "core", resource: "Team", handle: h.handleTeamPatch},
		{method: "DELETE", pattern: p("/orgs/{org}/teams/{team_slug}"), perm: authz.MembersWrite, auth: true, scopes: []string{"admin:org"}, limit: "core", handle: h.handleTeamDelete},
		{method: "GET", pattern: p("/orgs/{org}/teams/{team_slug}/members"), perm: authz.MembersRead, auth: true, scopes: []string{"read:org"}, limit: "core", handle: h.handleTeamMembers},
		{method: "GET", pattern: p("/orgs/{org}/teams/{team_slug}/memberships/{username}"), perm: authz.MembersRead, auth: true, scopes: []string{"read:org"}, limit: "core", handle: h.handleTeamMembershipGet},
		{method: "PUT", pattern: p("/orgs/{org}/teams/{team_slug}/memberships/{username}"), perm: authz.MembersWrite, auth: true, scopes: []string{"write:org"}, limit: "core", resource: "TeamMember", handle: h.handleTeamMembershipPut},
		{method: "DELETE", pattern: p("/orgs/{org}/teams/{team_slug}/memberships/{username}"), perm: authz.MembersWrite, auth: true, scopes: []string{"write:org"}, limit: "core", resource: "TeamMember", handle: h.handleTeamMembershipDelete},
		{method: "GET", pattern: p("/orgs/{org}/teams/{team_slug}/repos"), perm: authz.MembersRead, auth: true, scopes: []string{"read:org"}, limit: "core", handle: h.handleTeamRepos},
		{method: "GET", pattern: p("/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}"), perm: authz.MembersRead, auth: true, scopes: []string{"read:org"}, limit: "core", handle: h.handleTeamRepoGet},
		{method: "PUT", pattern: p("/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}"), perm: authz.MembersWrite, auth: true, scopes: []string{"admin:org"}, limit: "core", resource: "TeamRepository", handle: h.handleTeamRepoPut},
		{method: "DELETE", pattern: p("/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}"), perm: authz.MembersWrite, auth: true, scopes: []string{"admin:org"}, limit: "core", resource: "TeamRepository", handle: h.handleTeamRepoDelete},

		// Fine-grained tokens that target an organization, for its
		// owners (pats.go).
		{method: "GET", pattern: p("/orgs/{org}/personal-access-token-requests"), perm: authz.OrgAdminWrite, auth: true, scopes: []string{"admin:org"}, limit: "core", handle: h.handlePATRequestList},
		{method: "POST", pattern: p("/orgs/{org}/personal-access-token-requests"), perm: authz.OrgAdminWrite, auth: true, scopes: []string{"admin:org"}, limit: "core", resource: "PersonalAccessTokenRequest", handle: h.handlePATRequestReviewMany},
		{method: "POST", pattern: p("/orgs/{org}/personal-access-token-requests/{pat_request_id}"), perm: authz.OrgAdminWrite, auth: true, scopes: []string{"admin:org"}, limit: "core", resource: "PersonalAccessTokenRequest", handle: h.handlePATRequestReview},
		{method: "GET", pattern: p("/orgs/{org}/personal-access-token-requests/{pat_request_id}/repositories"), perm: authz.OrgAdminWrite, auth: true, scopes: []string{"admin:org"}, limit: "core", handle: h.handlePATRepos},
		{method: "GET", pattern: p("/orgs/{org}/personal-access-tokens"), perm: authz.OrgAdminWrite, auth: true, scopes: []string{"admin:org"}, limit: "core", handle: h.handlePATList},
		{method: "POST", pattern: p("/orgs/{org}/personal-access-tokens"), perm: authz.OrgAdminWrite, auth: true, scopes: []string{"admin:org"}, limit: "core", resource: "PersonalAccessToken", handle: h.handlePATRevokeMany},
		{method: "POST", pattern: p("/orgs/{org}/personal-access-tokens/{pat_id}"), perm: authz.OrgAdminWrite, auth: true, scopes: []string{"admin:org"}, limit: "core", resource: "PersonalAccessToken", handle: h.handlePATRevoke},
		{method: "GET", pattern: p("/orgs/{org}/personal-access-tokens/{pat_id}/repositories"), perm: authz.OrgAdminWrite, auth: true, scopes: []string{"admin:org"}, limit: "core", handle: h.handlePATRepos},

		// Repositories.
		{method: "GET", pattern: p("/repos/{owner}/{repo}"), perm: authz.MetadataRead, repo: true, action: authz.Read, limit: "core", handle: h.handleRepoGet},
		{method: "PATCH", pattern: p("/repos/{owner}/{repo}"), perm: authz.AdministrationWrite, auth: true, repo: true, action: authz.Admin, limit: "core", resource: "Repository", handle: h.handleRepoPatch},
		{method: "DELETE", pattern: p("/repos/{owner}/{repo}"), perm: authz.AdministrationWrite, auth: true, scopes: []string{"delete_repo"}, deny: denial{http.StatusForbidden, msgAdminRights}, repo: true, action: authz.Admin, limit: "core", handle: h.handleRepoDelete},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/readme"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleReadme},

		// A repository's content (contents.go): read access, through the
		// service's RepoView; GitHub's contents: read permission.
		{method: "GET", pattern: p("/repos/{owner}/{repo}/readme/{dir...}"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleReadme},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/contents/{path...}"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleContents},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/branches"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleBranchList},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/branches/{branch...}"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleBranchGet},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/tags"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleTagList},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/commits"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleCommitList},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/commits/{ref...}"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleCommitGet},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/git/refs"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleGitRefList},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/git/refs/{ref...}"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleGitRefsPrefix},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/git/ref/{ref...}"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleGitRefGet},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/git/matching-refs/{ref...}"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleMatchingRefs},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/compare/{basehead...}"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleCompare},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/tarball"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleArchiveLink},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/tarball/{ref...}"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleArchiveLink},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/zipball"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleArchiveLink},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/zipball/{ref...}"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleArchiveLink},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/legacy.tar.gz/{ref...}"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleArchive},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/legacy.zip/{ref...}"), perm: authz.ContentsRead, repo: true, action: authz.Read, limit: "core", handle: h.handleArchive},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/collaborators"), perm: authz.MetadataRead, auth: true, repo: true, action: authz.Write, limit: "core", handle: h.handleCollaboratorList},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/collaborators/{username}"), perm: authz.MetadataRead, auth: true, repo: true, action: authz.Write, limit: "core", handle: h.handleCollaboratorCheck},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/collaborators/{username}/permission"), perm: authz.MetadataRead, auth: true, repo: true, action: authz.Write, limit: "core", handle: h.handleCollaboratorPermission},
		{method: "PUT", pattern: p("/repos/{owner}/{repo}/collaborators/{username}"), perm: authz.AdministrationWrite, auth: true, repo: true, action: authz.Admin, limit: "core", resource: "Collaborator", handle: h.handleCollaboratorPut},
		{method: "DELETE", pattern: p("/repos/{owner}/{repo}/collaborators/{username}"), perm: authz.AdministrationWrite, auth: true, repo: true, action: authz.Admin, limit: "core", handle: h.handleCollaboratorDelete},
		// Deploy keys: SSH keys of one repository, for machines.
		{method: "GET", pattern: p("/repos/{owner}/{repo}/keys"), perm: authz.AdministrationRead, auth: true, repo: true, action: authz.Admin, limit: "core", handle: h.handleDeployKeyList},
		{method: "POST", pattern: p("/repos/{owner}/{repo}/keys"), perm: authz.AdministrationWrite, auth: true, repo: true, action: authz.Admin, limit: "core", resource: "PublicKey", handle: h.handleDeployKeyCreate},
		{method: "GET", pattern: p("/repos/{owner}/{repo}/keys/{id}"), perm: authz.AdministrationRead, auth: true, repo: true, action: authz.Admin, limit: "core", handle: h.handleDeployKeyGet},
		{method: "DELETE", pattern: p("/repos/{owner}/{repo}/keys/{id}"), perm: authz.AdministrationWrite, auth: true, repo: true, action: authz.Admin, limit: "core", handle: h.handleDeployKeyDelete},

		// Site administration.
		{method: "GET", pattern: p("/admin/tokens"), auth: true, scopes: []string{"site_admin"}, deny: adminDeny, siteAdmin: true, limit: "core", handle: h.handleAdminTokenList},
		{method: "DELETE", pattern: p("/admin/tokens/{id}"), auth: true, scopes: []string{"site_admin"}, deny: adminDeny, siteAdmin: true, limit: "core", handle: h.handleAdminTokenDelete},
		{method: "POST", pattern: p("/admin/organizations"), auth: true, scopes: []string{"site_admin"}, deny: adminDeny, siteAdmin: true, limit: "core", resource: "Organization", handle: h.handleAdminOrgCreate},

		// GraphQL: per-field rules live in the resolvers (which use the
		// same authorization function); the endpoint itself needs a token.
		{method: "POST", pattern: GraphQLPath, auth: true, limit: "graphql", handle: h.handleGraphQL},
	}
	for _, rt := range routes {
		rt.acceptedHeader = []string{token.HeaderValue(rt.accepted())}
		if rt.perm.Name != "" {
			rt.permHeader = []string{rt.perm.String()}
		}
	}
	return routes
}

// accepted lists the scopes the route checks, for X-Accepted-OAuth-Scopes:
// its own scopes and every scope that implies one of them, plus, for
// repository routes, what the authorization function asks for.
func (rt *route) accepted() []string {
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, s := range rt.scopes {
		for _, a := range withAncestors(s) {
			add(a)
		}
	}
	if rt.repo {
		add("repo")
		if rt.action == authz.Write {
			add("public_repo")
		}
	}
	slices.Sort(out)
	return out
}

// withAncestors returns scope and every scope that implies it.
func withAncestors(scope string) []string {
	out := []string{scope}
	for _, info := range token.Scopes() {
		if info.Name != scope && token.Has([]string{info.Name}, scope) {
			out = append(out, info.Name)
		}
	}
	return out
}

// scopeGranted reports whether the actor's credential carries one of the
// route's scopes.
func (rt *route) scopeGranted(actor *gatehouse.Actor) bool {
	for _, s := range rt.scopes {
		if actor.User != nil && authz.HasScope(actor, s) {
			return true
		}
	}
	return false
}

// repo loads the route's repository through the service's one
// authorization decision, with the action the route table declares.
// Failures come back as errors the pipeline maps to GitHub's answers: 404
// for what the caller may not see (anonymous callers included, so that
// private names do not leak; git answers 401 instead, to make git ask for
// credentials), 401 for anonymous callers of an instance in private mode,
// 403 for what the caller may see but not change.
func (rq *request) repo() (*gatehouse.Repo, gatehouse.Permission, error) {
	if !rq.route.repo {
		panic("api: route " + rq.route.pattern + " is not declared as a repository route")
	}
	owner, name := rq.PathValue("owner"), rq.PathValue("repo")
	name = strings.TrimSuffix(name, ".git")
	repo, perm, err := rq.h.svc.RepoFor(rq.Context(), rq.actor, owner, name, rq.route.need())
	if err != nil {
		return nil, 0, rq.refused(err)
	}
	if err := rq.renamed(owner, name, repo); err != nil {
		return nil, 0, err
	}
	return repo, perm, nil
}

// renamed is a *moved to repo's own URL when the request named it by the
// name it had before a rename (the service finds it by that name, for git
// remotes and links); nil when the name is its own.
func (rq *request) renamed(owner, name string, repo *gatehouse.Repo) error {
	if strings.EqualFold(owner+"/"+name, repo.FullName()) {
		return nil
	}
	// The path after /repos/OWNER/NAME, as sent.
	rest := strings.TrimPrefix(rq.URL.EscapedPath(), Prefix)
	rest = strings.TrimPrefix(rest, "/repos/")
	for range 2 {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[i+1:]
		} else {
			rest = ""
		}
	}
	loc := rq.h.apiBase + "/repos/" + repo.FullName()
	if rest != "" {
		loc += "/" + rest
	}
	if rq.URL.RawQuery != "" {
		loc += "?" + rq.URL.RawQuery
	}
	return &moved{location: loc}
}

// need is what the route's repository decision needs: its action and,
// of a fine-grained token, its permission (the action's default when the
// route declares none).
func (rt *route) need() authz.Need {
	n := rt.action.Need()
	if rt.perm.Name != "" {
		n.Perm = rt.perm
	}
	return n
}

// fineGrainedRefusal is the pipeline's check of a fine-grained token
// against a route that names no repository: "" when it may go on, else
// the 403 message.
func (rt *route) fineGrainedRefusal(actor *gatehouse.Actor) string {
	switch {
	case rt.repo:
		return "" // the service decides, with the selection
	case rt.perm.Name != "":
		if !authz.Allows(actor, "", rt.perm) {
			return authz.MsgNotAccessible
		}
	case len(rt.scopes) > 0:
		return authz.MsgNotAccessible
	}
	return ""
}

// refused words the service's refusal of the route's repository.
func (rq *request) refused(err error) error {
	if errors.Is(err, authz.ErrArchived) {
		return gatehouse.E("authorize", gatehouse.Forbidden, msgArchived)
	}
	if errors.Is(err, authz.ErrPermission) {
		return gatehouse.E("authorize", gatehouse.Forbidden, authz.MsgNotAccessible)
	}
	if errors.Is(err, authz.ErrPolicy) {
		return err
	}
	switch gatehouse.ErrorKind(err) {
	case gatehouse.NotFound:
		return errNotFound
	case gatehouse.Unauthenticated:
		if rq.h.svc.PrivateMode() {
			return gatehouse.E("authorize", gatehouse.Unauthenticated, msgRequiresAuth)
		}
		return errNotFound
	case gatehouse.Forbidden:
		msg := msgAdminRights
		if rq.route.action == authz.Write {
			msg = msgPushAccess
		}
		return gatehouse.E("authorize", gatehouse.Forbidden, msg)
	}
	return err
}

// view opens the route's repository for reading through the service
// (Service.OpenRepo, the same decision as repo with authz.Read), for the
// routes that read its content.
func (rq *request) view() (*service.RepoView, error) {
	if !rq.route.repo || rq.route.action != authz.Read {
		panic("api: route " + rq.route.pattern + " reads content but is not declared as a repository route with authz.Read")
	}
	owner, name := rq.PathValue("owner"), strings.TrimSuffix(rq.PathValue("repo"), ".git")
	v, err := rq.h.svc.OpenRepo(rq.Context(), rq.actor, owner, name)
	if err != nil {
		return nil, rq.refused(err)
	}
	if err := rq.renamed(owner, name, v.Repo); err != nil {
		return nil, err
	}
	return v, nil
}
