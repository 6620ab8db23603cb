package api

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// A site admin's ordinary repo token opens nothing of other users'.
func TestSiteAdminTokenGetsNoImplicitRepoAccess(t *testing.T) {
	e := newEnv(t)
	e.repo(t, e.bob, "hidden", true)
	root := e.token(t, e.root, "ci", "repo", "delete_repo")
	for _, req := range []struct{ method, path string }{
		{"GET", Prefix + "/repos/bob/hidden"},
		{"PATCH", Prefix + "/repos/bob/hidden"},
		{"DELETE", Prefix + "/repos/bob/hidden"},
		{"PUT", Prefix + "/repos/bob/hidden/collaborators/alice"},
	} {
		w := e.do(t, req.method, req.path, "token "+root, map[string]any{"private": false})
		expectError(t, w, http.StatusNotFound, "Not Found")
	}
}

// Page numbers far past the end neither panic nor wrap around.
func TestHugePageNumbers(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, e.alice, "all", "repo", "user", "read:public_key")
	e.repo(t, e.alice, "r", false)
	for _, path := range []string{"/user/emails", "/user/repos", "/user/orgs", "/repos/alice/r/collaborators", "/user/keys"} {
		for _, page := range []string{"4611686018427387905", "9223372036854775807", "1048577"} {
			w := e.do(t, "GET", Prefix+path+"?page="+page, "token "+tok, nil)
			if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != "[]" {
				t.Errorf("%s?page=%s: %d %s", path, page, w.Code, w.Body)
			}
		}
	}
}

// A query that makes field-overlap validation quadratic is refused fast.
func TestGraphQLOverlapBomb(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, e.alice, "none")
	q := "{viewer{" + strings.Repeat("login ", 2500) + "}}"
	start := time.Now()
	w := e.do(t, "POST", GraphQLPath, "token "+tok, map[string]any{"query": q})
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("a %d-byte query took %v", len(q), took)
	}
	if w.Code == http.StatusOK && !strings.Contains(w.Body.String(), `"errors"`) {
		t.Fatalf("the bomb was executed: %d %.200s", w.Code, w.Body)
	}
}

// Non-ASCII names that lower-case to a real login or repository name are
// not aliases for it.
func TestUnicodeNamesAreNotAliases(t *testing.T) {
	e := newEnv(t)
	e.repo(t, e.bob, "bobpriv", true)
	bob := e.token(t, e.bob, "b", "repo")
	for _, path := range []string{"/users/al%C4%B0ce", "/repos/bob/bobpr%C4%B0v", "/users/%E2%84%AAlice"} {
		w := e.do(t, "GET", Prefix+path, "token "+bob, nil)
		expectError(t, w, http.StatusNotFound, "Not Found")
	}
}
