package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

const (
	ghArchiveMutation   = `mutation ArchiveRepository($input:ArchiveRepositoryInput!){archiveRepository(input: $input){repository{id}}}`
	ghUnarchiveMutation = `mutation($input:UnarchiveRepositoryInput!){unarchiveRepository(input: $input){clientMutationId repository{isArchived archivedAt}}}`
)

// TestGraphQLArchive: archiveRepository and unarchiveRepository, and
// their refusals in GitHub's words.
func TestGraphQLArchive(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, e.alice, "t", "repo")
	noRepo := e.token(t, e.alice, "n", "public_repo")
	bobTok := e.token(t, e.bob, "b", "repo")
	r := e.repo(t, e.alice, "demo", false)
	hidden := e.repo(t, e.alice, "hidden", true)
	input := func(id int64) map[string]any {
		return map[string]any{"input": map[string]any{"repositoryId": nodeID("Repository", id), "clientMutationId": "m1"}}
	}

	if _, body := e.gql(t, tok, ghArchiveMutation, input(r.ID)); body != `{"data":{"archiveRepository":{"repository":{"id":"`+nodeID("Repository", r.ID)+`"}}}}` {
		t.Fatalf("archiveRepository: %s", body)
	}
	if _, body := e.gql(t, tok, `query{repository(owner:"alice",name:"demo"){isArchived}}`, nil); body != `{"data":{"repository":{"isArchived":true}}}` {
		t.Errorf("isArchived: %s", body)
	}
	// Archiving an archived repository changes nothing.
	if _, body := e.gql(t, tok, ghArchiveMutation, input(r.ID)); strings.Contains(body, "errors") {
		t.Errorf("archiving twice: %s", body)
	}
	for _, c := range []struct{ name, tok, want string }{
		{"writer", bobTok, `"type":"FORBIDDEN"`},
		{"no repo scope", noRepo, `"type":"INSUFFICIENT_SCOPES"`},
	} {
		if _, body := e.gql(t, c.tok, ghUnarchiveMutation, input(r.ID)); !strings.Contains(body, c.want) {
			t.Errorf("%s: %s", c.name, body)
		}
	}
	aliceSession := &gatehouse.Actor{User: e.alice}
	fresh, _, err := e.svc.Repo(context.Background(), aliceSession, "alice", "demo", authz.Admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetCollaborator(context.Background(), aliceSession, fresh, "bob", gatehouse.PermWrite); !errors.Is(err, authz.ErrArchived) {
		t.Errorf("collaborator of an archived repository: %v, want ErrArchived", err)
	}
	// A private repository of someone else is NOT_FOUND, like a missing one.
	for _, id := range []int64{hidden.ID, 9999} {
		if _, body := e.gql(t, bobTok, ghArchiveMutation, input(id)); !strings.Contains(body, `"type":"NOT_FOUND"`) || !strings.Contains(body, "Could not resolve to a node with the global id of") {
			t.Errorf("repository %d: %s", id, body)
		}
	}
	_, body := e.gql(t, tok, ghUnarchiveMutation, input(r.ID))
	if body != `{"data":{"unarchiveRepository":{"clientMutationId":"m1","repository":{"isArchived":false,"archivedAt":null}}}}` {
		t.Errorf("unarchiveRepository: %s", body)
	}
}

// TestRepoPatchArchiveRename: PATCH /repos/{owner}/{repo} archives,
// unarchives, renames, and refuses changes to an archived repository with
// GitHub's 403; a renamed repository answers by its old name.
func TestRepoPatchArchiveRename(t *testing.T) {
	e := newEnv(t)
	tok := "token " + e.token(t, e.alice, "t", "repo")
	e.repo(t, e.alice, "demo", false)
	e.repo(t, e.alice, "other", false)
	path := Prefix + "/repos/alice/demo"

	w := e.do(t, "PATCH", path, tok, map[string]any{"archived": true, "description": "last words"})
	if v := decodeBody[struct {
		Archived    bool
		Description string
	}](t, w); w.Code != 200 || !v.Archived || v.Description != "last words" {
		t.Fatalf("archive: %d %s", w.Code, w.Body)
	}
	for _, body := range []map[string]any{{"description": "x"}, {"name": "elsewhere"}, {"private": true}, {"default_branch": "main2"}} {
		expectError(t, e.do(t, "PATCH", path, tok, body), http.StatusForbidden, msgArchived)
	}
	expectError(t, e.do(t, "PUT", path+"/collaborators/bob", tok, nil), http.StatusForbidden, "")
	// Unarchiving takes other changes with it.
	w = e.do(t, "PATCH", path, tok, map[string]any{"archived": false, "description": "back"})
	if v := decodeBody[struct {
		Archived    bool
		Description string
	}](t, w); w.Code != 200 || v.Archived || v.Description != "back" {
		t.Fatalf("unarchive: %d %s", w.Code, w.Body)
	}

	w = e.do(t, "PATCH", path, tok, map[string]any{"name": "other"})
	expectError(t, w, http.StatusUnprocessableEntity, "Validation Failed")
	if !strings.Contains(w.Body.String(), `"code":"custom","field":"name","message":"name already exists on this account"`) {
		t.Errorf("rename to a taken name: %s", w.Body)
	}
	expectError(t, e.do(t, "PATCH", path, tok, map[string]any{"name": "bad name"}), http.StatusUnprocessableEntity, "Validation Failed")
	w = e.do(t, "PATCH", path, tok, map[string]any{"default_branch": "dev"})
	if !strings.Contains(w.Body.String(), "Cannot update default branch for an empty repository.") {
		t.Errorf("default branch of an empty repository: %d %s", w.Code, w.Body)
	}

	w = e.do(t, "PATCH", path, tok, map[string]any{"name": "moved"})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"full_name":"alice/moved"`) {
		t.Fatalf("rename: %d %s", w.Code, w.Body)
	}
	// The old name answers as GitHub's does: 301 to the new one (307 for
	// the methods a client must repeat as they were), the rest of the
	// path and the query kept.
	w = e.do(t, "GET", path+"/branches?per_page=5", tok, nil)
	if loc := w.Header().Get("Location"); w.Code != http.StatusMovedPermanently || loc != "https://git.example.com/api/v3/repos/alice/moved/branches?per_page=5" ||
		!strings.Contains(w.Body.String(), `"message":"Moved Permanently","url":"`+loc+`"`) {
		t.Errorf("GET by the old name: %d %s %s", w.Code, loc, w.Body)
	}
	if w := e.do(t, "PATCH", path, tok, map[string]any{"description": "x"}); w.Code != http.StatusTemporaryRedirect || w.Header().Get("Location") != "https://git.example.com/api/v3/repos/alice/moved" {
		t.Errorf("PATCH by the old name: %d %s", w.Code, w.Header())
	}
	if w := e.do(t, "GET", Prefix+"/repos/alice/MOVED", tok, nil); w.Code != 200 || !strings.Contains(w.Body.String(), `"full_name":"alice/moved"`) {
		t.Errorf("GET by the new name in other case: %d %s", w.Code, w.Body)
	}
	q := `query($n:String!,$f:Boolean!){repository(owner:"alice",name:$n,followRenames:$f){name}}`
	if _, body := e.gql(t, strings.TrimPrefix(tok, "token "), q, map[string]any{"n": "demo", "f": true}); body != `{"data":{"repository":{"name":"moved"}}}` {
		t.Errorf("followRenames: %s", body)
	}
	if _, body := e.gql(t, strings.TrimPrefix(tok, "token "), q, map[string]any{"n": "demo", "f": false}); !strings.Contains(body, `"type":"NOT_FOUND"`) {
		t.Errorf("followRenames false: %s", body)
	}
}
