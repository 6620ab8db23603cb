package api

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

func TestParseRepoSearch(t *testing.T) {
	s, err := parseRepoSearch("sort:updated-desc archived:true fork:true user:@me", "alice")
	if err != nil || s.owner != "alice" || s.archived == nil || !*s.archived || s.sort != "UPDATED_AT" || !s.desc || s.none || s.forkOnly {
		t.Errorf("gh's --archived query: %+v, %v", s, err)
	}
	s, _ = parseRepoSearch("sort:updated-desc archived:false fork:only is:private org:acme web", "alice")
	if s.owner != "acme" || *s.archived || !s.forkOnly || s.privacy != "PRIVATE" || len(s.words) != 1 || s.words[0] != "web" {
		t.Errorf("%+v", s)
	}
	for _, q := range []string{"language:go", "topic:cli", "is:internal"} {
		if s, err := parseRepoSearch(q, "alice"); err != nil || !s.none {
			t.Errorf("%s: %+v, %v; want nothing to match", q, s, err)
		}
	}
	for _, q := range []string{"archived:maybe", "stars:>10", "user:alice user:bob", "is:secret"} {
		if _, err := parseRepoSearch(q, "alice"); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
}

// TestGraphQLSearch: gh repo list --archived's search, for the owner and
// for another user, who sees only what the owner's listing shows them.
func TestGraphQLSearch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	old := e.repo(t, e.alice, "old", false)
	e.repo(t, e.alice, "new", false)
	e.repo(t, e.alice, "secret", true)
	oldSecret := e.repo(t, e.alice, "oldsecret", true)
	for _, r := range []*gatehouse.Repo{old, oldSecret} {
		if err := e.svc.ArchiveRepo(ctx, system, r, true); err != nil {
			t.Fatal(err)
		}
	}
	const q = `query($q:String!){search(type:REPOSITORY,query:$q,first:10){repositoryCount nodes{...on Repository{nameWithOwner isArchived}} pageInfo{hasNextPage}}}`
	alice, bob := e.token(t, e.alice, "a", "repo"), e.token(t, e.bob, "b", "repo")
	for _, c := range []struct {
		tok, query, want string
	}{
		{alice, "sort:updated-desc archived:true fork:true user:@me", `"repositoryCount":2`},
		{alice, "archived:true user:alice", `alice/oldsecret`},
		{alice, "archived:false user:alice", `"repositoryCount":2`},
		{bob, "archived:true user:alice", `{"repositoryCount":1,"nodes":[{"nameWithOwner":"alice/old","isArchived":true}]`},
		{bob, "archived:false user:alice is:private", `"repositoryCount":0`},
		{alice, "user:alice secret", `"repositoryCount":2`},
		{alice, "user:alice language:go", `"repositoryCount":0`},
		{alice, "user:nobody", `"repositoryCount":0`},
	} {
		if _, body := e.gql(t, c.tok, q, map[string]any{"q": c.query}); !strings.Contains(body, c.want) {
			t.Errorf("%q: %s, want %s", c.query, body, c.want)
		}
	}
	if _, body := e.gql(t, alice, q, map[string]any{"q": "stars:>1"}); !strings.Contains(body, `"type":"INVALID_SEARCH_QUERY"`) {
		t.Errorf("an unknown qualifier: %s", body)
	}
	if _, body := e.gql(t, alice, `{search(type:ISSUE,query:"is:open"){issueCount}}`, nil); body != `{"data":{"search":{"issueCount":0}}}` {
		t.Errorf("an issue search: %s", body)
	}
}
