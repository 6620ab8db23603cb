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
	auth := func(tok string) string { return "token " + tok }
	cases := []struct {
		name, method, path, auth string
		body                     any
		status                   int
	}{
		{"root", "GET", Prefix + "/", auth(all), nil, 200},
		{"meta", "GET", Prefix + "/meta", "", nil, 200},
		{"rate_limit", "GET", Prefix + "/rate_limit", auth(all), nil, 200},
		{"user_private", "GET", Prefix + "/user", auth(all), nil, 200},
		{"user_public_self", "GET", Prefix + "/user", auth(noScope), nil, 200},
		{"user_show", "GET", Prefix + "/users/bob", "", nil, 200},
		{"user_patch", "PATCH", Prefix + "/user", auth(all), map[string]any{"name": "Alice L."}, 200},
		{"user_emails", "GET", Prefix + "/user/emails", auth(all), nil, 200},
		{"user_orgs", "GET", Prefix + "/user/orgs", auth(all), nil, 200},
		{"repo_create", "POST", Prefix + "/user/repos", auth(all), map[string]any{"name": "made", "private": true, "description": "Made by the API"}, 201},
		{"repo_get", "GET", Prefix + "/repos/alice/pub", auth(all), nil, 200},
		{"repo_get_anonymous", "GET", Prefix + "/repos/alice/pub", "", nil, 200},
		{"repo_get_collaborator", "GET", Prefix + "/repos/alice/pub", auth(bobTok), nil, 200},
		{"repo_patch", "PATCH", Prefix + "/repos/alice/made", auth(all), map[string]any{"description": "changed", "private": false}, 200},
		{"user_repos", "GET", Prefix + "/user/repos?per_page=2", auth(all), nil, 200},
		{"users_repos", "GET", Prefix + "/users/alice/repos", "", nil, 200},
		{"readme", "GET", Prefix + "/repos/alice/pub/readme", auth(all), nil, 200},
		{"collaborators", "GET", Prefix + "/repos/alice/pub/collaborators", auth(all), nil, 200},
		{"collaborator_permission", "GET", Prefix + "/repos/alice/pub/collaborators/bob/permission", auth(all), nil, 200},
		{"key_create", "POST", Prefix + "/user/keys", auth(all), map[string]any{"title": "laptop", "key": testKey}, 201},
		{"key_list", "GET", Prefix + "/user/keys", auth(all), nil, 200},
		{"key_get", "GET", Prefix + "/user/keys/1", auth(all), nil, 200},
		{"keys_public", "GET", Prefix + "/users/alice/keys", "", nil, 200},
		{"admin_tokens", "GET", Prefix + "/admin/tokens?per_page=2", auth(admin), nil, 200},

		{"error_requires_auth", "GET", Prefix + "/user", "", nil, 401},
		{"error_bad_credentials", "GET", Prefix + "/user", "token gtp_nope", nil, 401},
		{"error_not_found", "GET", Prefix + "/repos/alice/priv", auth(bobTok), nil, 404},
		{"error_route_not_found", "GET", Prefix + "/no/such/thing", "", nil, 404},
		{"error_scope_403", "GET", Prefix + "/user/orgs", auth(noScope), nil, 403},
		{"error_admin_rights", "DELETE", Prefix + "/repos/alice/pub", auth(bobTok), nil, 403},
		{"error_repo_exists", "POST", Prefix + "/user/repos", auth(all), map[string]any{"name": "pub"}, 422},
		{"error_validation", "POST", Prefix + "/user/keys", auth(all), map[string]any{"title": "x", "key": "not a key"}, 422},
		{"error_problems_parsing_json", "POST", Prefix + "/user/repos", auth(all), "{nope", 400},
		{"error_body_not_object", "POST", Prefix + "/user/repos", auth(all), "[1]", 400},
		{"rate_limit_anonymous", "GET", Prefix + "/rate_limit", "", nil, 200},

		{"graphql_viewer", "POST", GraphQLPath, auth(all), map[string]any{"query": "query UserCurrent{viewer{login}}"}, 200},
		{"graphql_repository", "POST", GraphQLPath, auth(all), map[string]any{"query": ghRepoQuery, "variables": map[string]any{"owner": "alice", "name": "pub"}}, 200},
		{"graphql_not_found", "POST", GraphQLPath, auth(bobTok), map[string]any{"query": ghRepoQuery, "variables": map[string]any{"owner": "alice", "name": "priv"}}, 200},
		{"graphql_create", "POST", GraphQLPath, auth(all), map[string]any{"query": ghCreateMutation, "variables": map[string]any{"input": map[string]any{
			"name": "gqlmade", "visibility": "PRIVATE", "hasIssuesEnabled": true, "hasWikiEnabled": true}}}, 200},
		{"graphql_insufficient_scopes", "POST", GraphQLPath, auth(noScope), map[string]any{"query": ghCreateMutation, "variables": map[string]any{"input": map[string]any{
			"name": "nope", "visibility": "PUBLIC"}}}, 200},
		{"graphql_syntax_error", "POST", GraphQLPath, auth(all), map[string]any{"query": "query { viewer { login "}, 200},
		{"graphql_unknown_field", "POST", GraphQLPath, auth(all), map[string]any{"query": "query { viewer { login password } }"}, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := e.do(t, c.method, c.path, c.auth, c.body)
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
)

var _ = http.StatusOK
