package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// get sends a request with an optional token and returns status and body.
func call(t *testing.T, c *http.Client, method, url, token, body string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// noRedirects makes c return redirects instead of following them.
func noRedirects(c *http.Client) *http.Client {
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

// TestPrivateMode drives serve --private-mode as an anonymous visitor and
// as a token holder: anonymous callers are asked to sign in on every
// listing, page, API call and git path, public repositories included; a
// token sees what it always saw.
func TestPrivateMode(t *testing.T) {
	s := startServer(t, "--private-mode")
	s.Admin("repo", "create", "alice/open", "--description", "public one")
	tok := s.Token("alice", "pm", "repo", "never")
	c := noRedirects(s.Client(t))

	for _, path := range []string{"/api/v3/repos/alice/open", "/api/v3/users/alice/repos", "/api/v3/users/alice", "/api/v3/users/alice/keys"} {
		code, _, body := call(t, c, "GET", s.URL+path, "", "")
		if code != http.StatusUnauthorized || !strings.Contains(body, "Requires authentication") {
			t.Errorf("anonymous GET %s: %d %s; want 401 Requires authentication", path, code, body)
		}
		if code, _, body := call(t, c, "GET", s.URL+path, tok, ""); code != http.StatusOK {
			t.Errorf("GET %s with a token: %d %s", path, code, body)
		}
	}
	for _, path := range []string{"/alice", "/alice/open"} {
		code, hd, _ := call(t, c, "GET", s.URL+path, "", "")
		if code != http.StatusSeeOther || !strings.HasPrefix(hd.Get("Location"), "/login?return_to=") {
			t.Errorf("anonymous GET %s: %d Location %q; want 303 to the sign-in page", path, code, hd.Get("Location"))
		}
	}
	if code, _, _ := call(t, c, "GET", s.URL+"/login", "", ""); code != http.StatusOK {
		t.Errorf("the sign-in page must stay open in private mode: %d", code)
	}

	g := testenv.NewGit(t, s.CAFile)
	g.UseCredentialHelper()
	r := g.Run("", "ls-remote", s.RepoURL("alice/open"))
	if r.Err == nil {
		t.Fatalf("anonymous ls-remote of a public repository succeeded in private mode:\n%s", r.Stdout)
	}
	if !strings.Contains(r.Stderr, "Authentication required") && !strings.Contains(r.Stderr, "could not read Username") {
		t.Fatalf("anonymous ls-remote: want an authentication refusal, got:\n%s", r.Stderr)
	}
	g.MustRunAs("", "x", tok, "ls-remote", s.RepoURL("alice/open"))
}

// TestRepoDescriptionLimit is the regression for the limit that lived in
// the web form and the update path only: creating through the API now
// meets the same 350-character rule as updating.
func TestRepoDescriptionLimit(t *testing.T) {
	s := startServer(t)
	tok := s.Token("alice", "desc", "repo", "never")
	c := s.Client(t)
	huge, _ := json.Marshal(map[string]string{"name": "huge", "description": strings.Repeat("d", 900000)})
	code, _, body := call(t, c, "POST", s.URL+"/api/v3/user/repos", tok, string(huge))
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `"field":"description"`) || !strings.Contains(body, "maximum is 350 characters") {
		t.Fatalf("POST /user/repos with a 900,000-character description: %d %.300s; want 422 naming the description", code, body)
	}
	if code, _, body := call(t, c, "GET", s.URL+"/api/v3/repos/alice/huge", tok, ""); code != http.StatusNotFound {
		t.Fatalf("the refused repository exists: %d %s", code, body)
	}
	ok, _ := json.Marshal(map[string]string{"name": "fits", "description": strings.Repeat("é", 350)})
	if code, _, body := call(t, c, "POST", s.URL+"/api/v3/user/repos", tok, string(ok)); code != http.StatusCreated {
		t.Fatalf("350 characters must be accepted: %d %s", code, body)
	}
	long, _ := json.Marshal(map[string]string{"description": strings.Repeat("d", 351)})
	if code, _, body := call(t, c, "PATCH", s.URL+"/api/v3/repos/alice/fits", tok, string(long)); code != http.StatusUnprocessableEntity {
		t.Fatalf("PATCH with 351 characters: %d %s", code, body)
	}
}
