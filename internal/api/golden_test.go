package api

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

var (
	reTime      = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"`)
	reHash      = regexp.MustCompile(`"hashed_token": "[0-9a-f]{64}"`)
	reLastEight = regexp.MustCompile(`"token_last_eight": "[0-9A-Za-z]{8}"`)
	reReset     = regexp.MustCompile(`"reset": \d+`)
)

// goldenJSON indents a response body, replaces what changes from run to
// run (times, token hashes) with fixed markers, and compares it with
// testdata/NAME.golden.json.
func goldenJSON(t *testing.T, name string, w *httptest.ResponseRecorder) {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, w.Body.Bytes(), "", "  "); err != nil {
		t.Fatalf("%s: body is not JSON: %v: %s", name, err, w.Body)
	}
	b := reTime.ReplaceAll(out.Bytes(), []byte(`"<time>"`))
	b = reHash.ReplaceAll(b, []byte(`"hashed_token": "<sha256>"`))
	b = reLastEight.ReplaceAll(b, []byte(`"token_last_eight": "<last8>"`))
	b = reReset.ReplaceAll(b, []byte(`"reset": "<unix>"`))
	golden(t, name+".golden.json", append(b, '\n'))
}

// TestGolden locks the JSON of every response shape the API sends.
func TestGolden(t *testing.T) {
	e := newEnv(t, envOptions{rate: RateLimit{PerHour: 5000}})
	ctx := context.Background()
	all := e.token(t, e.alice, "all-expiring", allScopes()...)
	noScope := e.token(t, e.alice, "none")
	admin := e.token(t, e.root, "admin", "site_admin")
	bobTok := e.token(t, e.bob, "bob", "repo")
	pub, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "alice", Name: "pub", Description: "A public place", Readme: true})
	if err != nil {
		t.Fatal(err)
	}
	e.repo(t, e.alice, "priv", true)
	if _, err := e.svc.SetCollaborator(ctx, system, pub, "bob", gatehouse.PermWrite); err != nil {
		t.Fatal(err)
	}
	// The organization acme: alice owns it, bob is a member and in the
	// team devs, granted push on the private acme/tools.
	acme := e.org(t, "acme", e.alice, e.bob)
	e.team(t, "acme", "Devs", "closed", e.bob)
	e.repo(t, acme, "tools", true)
	e.repo(t, acme, "site", false)
	if err := e.svc.SetTeamRepo(ctx, system, acme, "devs", "acme", "tools", gatehouse.PermWrite); err != nil {
		t.Fatal(err)
	}
	initech := e.org(t, "initech", e.root) // alice is not a member
	bobOrg := e.token(t, e.bob, "bob-org", "repo", "read:org")
	bobAdminOrg := e.token(t, e.bob, "bob-admin-org", "repo", "admin:org")
	auth := func(tok string) string { return "token " + tok }
	teamRepoMedia := http.Header{"Accept": {mediaTeamRepository}}
	cases := []struct {
		name, method, path, auth string
		body                     any
		status                   int
		header                   http.Header
	}{
		{"root", "GET", Prefix + "/", auth(all), nil, 200, nil},
		{"meta", "GET", Prefix + "/meta", "", nil, 200, nil},
		{"rate_limit", "GET", Prefix + "/rate_limit", auth(all), nil, 200, nil},
		{"user_private", "GET", Prefix + "/user", auth(all), nil, 200, nil},
		{"user_public_self", "GET", Prefix + "/user", auth(noScope), nil, 200, nil},
		{"user_show", "GET", Prefix + "/users/bob", "", nil, 200, nil},
		{"user_patch", "PATCH", Prefix + "/user", auth(all), map[string]any{"name": "Alice L."}, 200, nil},
		{"user_emails", "GET", Prefix + "/user/emails", auth(all), nil, 200, nil},
		{"user_orgs", "GET", Prefix + "/user/orgs", auth(all), nil, 200, nil},
		{"repo_create", "POST", Prefix + "/user/repos", auth(all), map[string]any{"name": "made", "private": true, "description": "Made by the API"}, 201, nil},
		{"repo_get", "GET", Prefix + "/repos/alice/pub", auth(all), nil, 200, nil},
		{"repo_get_anonymous", "GET", Prefix + "/repos/alice/pub", "", nil, 200, nil},
		{"repo_get_collaborator", "GET", Prefix + "/repos/alice/pub", auth(bobTok), nil, 200, nil},
		{"repo_patch", "PATCH", Prefix + "/repos/alice/made", auth(all), map[string]any{"description": "changed", "private": false}, 200, nil},
		{"user_repos", "GET", Prefix + "/user/repos?per_page=2", auth(all), nil, 200, nil},
		{"users_repos", "GET", Prefix + "/users/alice/repos", "", nil, 200, nil},
		{"readme", "GET", Prefix + "/repos/alice/pub/readme", auth(all), nil, 200, nil},
		{"collaborators", "GET", Prefix + "/repos/alice/pub/collaborators", auth(all), nil, 200, nil},
		{"collaborator_permission", "GET", Prefix + "/repos/alice/pub/collaborators/bob/permission", auth(all), nil, 200, nil},
		{"key_create", "POST", Prefix + "/user/keys", auth(all), map[string]any{"title": "laptop", "key": testKey}, 201, nil},
		{"key_list", "GET", Prefix + "/user/keys", auth(all), nil, 200, nil},
		{"key_get", "GET", Prefix + "/user/keys/1", auth(all), nil, 200, nil},
		{"keys_public", "GET", Prefix + "/users/alice/keys", "", nil, 200, nil},
		{"admin_tokens", "GET", Prefix + "/admin/tokens?per_page=2", auth(admin), nil, 200, nil},

		// Organizations and teams, in an order that builds on itself.
		{"org_get", "GET", Prefix + "/orgs/acme", auth(all), nil, 200, nil},
		{"org_get_public", "GET", Prefix + "/orgs/acme", "", nil, 200, nil},
		{"org_patch", "PATCH", Prefix + "/orgs/acme", auth(all), map[string]any{
			"description": "Everything for everyone", "email": "info@acme.example", "default_repository_permission": "write"}, 200, nil},
		{"org_members", "GET", Prefix + "/orgs/acme/members", auth(bobOrg), nil, 200, nil},
		{"org_members_admins", "GET", Prefix + "/orgs/acme/members?role=admin", auth(bobOrg), nil, 200, nil},
		{"org_membership", "GET", Prefix + "/orgs/acme/memberships/bob", auth(all), nil, 200, nil},
		{"org_membership_put", "PUT", Prefix + "/orgs/acme/memberships/root", auth(all), map[string]any{"role": "member"}, 200, nil},
		{"user_memberships", "GET", Prefix + "/user/memberships/orgs", auth(bobOrg), nil, 200, nil},
		{"users_org", "GET", Prefix + "/users/acme", "", nil, 200, nil},
		{"org_repos", "GET", Prefix + "/orgs/acme/repos", auth(bobOrg), nil, 200, nil},
		{"org_repos_public", "GET", Prefix + "/orgs/acme/repos?type=public", "", nil, 200, nil},
		{"org_repo_create", "POST", Prefix + "/orgs/acme/repos", auth(bobOrg), map[string]any{"name": "bobs", "private": true}, 201, nil},
		{"repo_get_org", "GET", Prefix + "/repos/acme/tools", auth(bobOrg), nil, 200, nil},
		{"teams", "GET", Prefix + "/orgs/acme/teams", auth(bobOrg), nil, 200, nil},
		{"team_create", "POST", Prefix + "/orgs/acme/teams", auth(all), map[string]any{
			"name": "Release Managers", "description": "Ship it", "maintainers": []string{"bob"}, "repo_names": []string{"acme/site"}, "permission": "push"}, 201, nil},
		{"team_get", "GET", Prefix + "/orgs/acme/teams/devs", auth(bobOrg), nil, 200, nil},
		{"team_patch", "PATCH", Prefix + "/orgs/acme/teams/release-managers", auth(all), map[string]any{"privacy": "closed"}, 200, nil},
		{"team_members", "GET", Prefix + "/orgs/acme/teams/devs/members", auth(bobOrg), nil, 200, nil},
		{"team_membership_put", "PUT", Prefix + "/orgs/acme/teams/devs/memberships/root", auth(all), map[string]any{"role": "maintainer"}, 200, nil},
		{"team_membership", "GET", Prefix + "/orgs/acme/teams/devs/memberships/bob", auth(bobOrg), nil, 200, nil},
		{"team_repos", "GET", Prefix + "/orgs/acme/teams/devs/repos", auth(bobOrg), nil, 200, nil},
		{"team_repo", "GET", Prefix + "/orgs/acme/teams/devs/repos/acme/tools", auth(bobOrg), nil, 200, teamRepoMedia},
		{"user_teams", "GET", Prefix + "/user/teams", auth(bobOrg), nil, 200, nil},
		{"admin_org_create", "POST", Prefix + "/admin/organizations", auth(admin), map[string]any{"login": "globex", "admin": "bob", "profile_name": "Globex Corporation"}, 201, nil},
		{"error_last_owner", "DELETE", Prefix + "/orgs/acme/memberships/alice", auth(all), nil, 422, nil},
		{"error_not_owner", "PATCH", Prefix + "/orgs/acme", auth(bobAdminOrg), map[string]any{"name": "Mine"}, 403, nil},
		{"error_org_scope", "GET", Prefix + "/orgs/acme/teams", auth(bobTok), nil, 404, nil},
		{"error_org_login_taken", "POST", Prefix + "/admin/organizations", auth(admin), map[string]any{"login": "bob", "admin": "alice"}, 422, nil},

		{"error_requires_auth", "GET", Prefix + "/user", "", nil, 401, nil},
		{"error_bad_credentials", "GET", Prefix + "/user", "token gtp_nope", nil, 401, nil},
		{"error_not_found", "GET", Prefix + "/repos/alice/priv", auth(bobTok), nil, 404, nil},
		{"error_route_not_found", "GET", Prefix + "/no/such/thing", "", nil, 404, nil},
		{"error_scope_403", "GET", Prefix + "/user/orgs", auth(noScope), nil, 403, nil},
		{"error_admin_rights", "DELETE", Prefix + "/repos/alice/pub", auth(bobTok), nil, 403, nil},
		{"error_repo_exists", "POST", Prefix + "/user/repos", auth(all), map[string]any{"name": "pub"}, 422, nil},
		{"error_validation", "POST", Prefix + "/user/keys", auth(all), map[string]any{"title": "x", "key": "not a key"}, 422, nil},
		{"error_problems_parsing_json", "POST", Prefix + "/user/repos", auth(all), "{nope", 400, nil},
		{"error_body_not_object", "POST", Prefix + "/user/repos", auth(all), "[1]", 400, nil},
		{"rate_limit_anonymous", "GET", Prefix + "/rate_limit", "", nil, 200, nil},

		{"graphql_viewer", "POST", GraphQLPath, auth(all), map[string]any{"query": "query UserCurrent{viewer{login}}"}, 200, nil},
		{"graphql_repository", "POST", GraphQLPath, auth(all), map[string]any{"query": ghRepoQuery, "variables": map[string]any{"owner": "alice", "name": "pub"}}, 200, nil},
		{"graphql_not_found", "POST", GraphQLPath, auth(bobTok), map[string]any{"query": ghRepoQuery, "variables": map[string]any{"owner": "alice", "name": "priv"}}, 200, nil},
		{"graphql_create", "POST", GraphQLPath, auth(all), map[string]any{"query": ghCreateMutation, "variables": map[string]any{"input": map[string]any{
			"name": "gqlmade", "visibility": "PRIVATE", "hasIssuesEnabled": true, "hasWikiEnabled": true}}}, 200, nil},
		{"graphql_insufficient_scopes", "POST", GraphQLPath, auth(noScope), map[string]any{"query": ghCreateMutation, "variables": map[string]any{"input": map[string]any{
			"name": "nope", "visibility": "PUBLIC"}}}, 200, nil},
		{"graphql_syntax_error", "POST", GraphQLPath, auth(all), map[string]any{"query": "query { viewer { login "}, 200, nil},
		{"graphql_unknown_field", "POST", GraphQLPath, auth(all), map[string]any{"query": "query { viewer { login password } }"}, 200, nil},
	}
	gql := func(query string, vars map[string]any) map[string]any {
		return map[string]any{"query": query, "variables": vars}
	}
	cases = append(cases, []struct {
		name, method, path, auth string
		body                     any
		status                   int
		header                   http.Header
	}{
		{"graphql_viewer_orgs", "POST", GraphQLPath, auth(bobOrg), gql(ghViewerOrgsQuery, nil), 200, nil},
		{"graphql_organization", "POST", GraphQLPath, auth(bobOrg), gql(`query{organization(login:"acme"){id databaseId login name description url viewerIsAMember viewerCanAdminister viewerCanCreateRepositories teams(first:10){totalCount nodes{id name slug combinedSlug privacy}}}}`, nil), 200, nil},
		{"graphql_organization_not_found", "POST", GraphQLPath, auth(bobOrg), gql(`query{organization(login:"alice"){login}}`, nil), 200, nil},
		{"graphql_repository_owner", "POST", GraphQLPath, auth(bobOrg), gql(ghRepoListQuery, map[string]any{"owner": "acme", "perPage": 30}), 200, nil},
		{"graphql_repository_owner_user", "POST", GraphQLPath, auth(bobOrg), gql(`query{repositoryOwner(login:"alice"){__typename login ... on User{name}}}`, nil), 200, nil},
		{"graphql_repository_org", "POST", GraphQLPath, auth(bobOrg), gql(ghRepoQuery, map[string]any{"owner": "acme", "name": "tools"}), 200, nil},
		{"graphql_create_org", "POST", GraphQLPath, auth(bobOrg), gql(ghCreateMutation, map[string]any{"input": map[string]any{
			"name": "gqlorg", "visibility": "PRIVATE", "ownerId": nodeID("Organization", acme.ID), "hasIssuesEnabled": true, "hasWikiEnabled": true}}), 200, nil},
		{"graphql_create_org_outsider", "POST", GraphQLPath, auth(all), gql(ghCreateMutation, map[string]any{"input": map[string]any{
			"name": "nope", "visibility": "PRIVATE", "ownerId": nodeID("Organization", initech.ID)}}), 200, nil},
	}...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := e.doWith(t, c.method, c.path, c.auth, c.header, c.body)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			goldenJSON(t, c.name, w)
		})
	}
}

// Queries gh 2.23 sends, as captured on the wire.
const (
	ghRepoQuery = `fragment repo on Repository {
  id name owner { login } hasIssuesEnabled description hasWikiEnabled viewerPermission
  defaultBranchRef { name }
}
query RepositoryInfo($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    ...repo
    parent { ...repo }
    mergeCommitAllowed rebaseMergeAllowed squashMergeAllowed
  }
}`
	ghCreateMutation = `mutation RepositoryCreate($input: CreateRepositoryInput!){createRepository(input:$input){repository{id name owner{login} url}}}`
	// ghViewerOrgsQuery is api.CurrentLoginNameAndOrgs (gh repo create,
	// interactive owner choice).
	ghViewerOrgsQuery = `query UserCurrent{viewer{login,organizations(first: 100){nodes{login}}}}`
	// ghRepoListQuery is gh repo list OWNER with its default fields.
	ghRepoListQuery = `query RepositoryList($perPage:Int!,$endCursor:String,$privacy:RepositoryPrivacy,$fork:Boolean,$owner:String!) {
		repositoryOwner(login: $owner) {
			login
			repositories(first: $perPage, after: $endCursor, privacy: $privacy, isFork: $fork, ownerAffiliations: OWNER, orderBy: { field: PUSHED_AT, direction: DESC }) {
				nodes{nameWithOwner,description,isPrivate,isFork,isArchived,createdAt,pushedAt}
				totalCount
				pageInfo{hasNextPage,endCursor}
			}
		}
	}`
)

var _ = http.StatusOK
