package git_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// webUser is a person signed in to the web UI of a running server, in
// sudo mode, sending forms as the pages that show them do (the page's
// anti-forgery token included). The organization's settings are changed
// through it, as an owner would.
type webUser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

var formTokenRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signIn signs login in to s with password and confirms the password for
// sudo mode.
func signIn(t *testing.T, s *testenv.Server, login, password string) *webUser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := s.Client(t)
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	u := &webUser{t: t, base: s.URL, hc: hc}
	u.post("/login", "/login", url.Values{"login": {login}, "password": {password}})
	u.post("/settings/profile", "/sudo", url.Values{"password": {password}, "return_to": {"/"}})
	return u
}

func (u *webUser) do(method, path string, form url.Values) (int, string) {
	u.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u.base+path, body)
	if err != nil {
		u.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := u.hc.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// post sends form to path with the token of the page at from and wants
// the redirect that follows a change.
func (u *webUser) post(from, path string, form url.Values) {
	u.t.Helper()
	status, page := u.do("GET", from, nil)
	m := formTokenRe.FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		u.t.Fatalf("GET %s: %d, no form:\n%s", from, status, page)
	}
	form.Set("csrf_token", m[1])
	if status, body := u.do("POST", path, form); status != http.StatusSeeOther {
		u.t.Fatalf("POST %s: %d, want a redirect\n%s", path, status, body)
	}
}

// orgSettings is the path of a settings page of acme.
func orgSettings(page string) string { return "/organizations/acme/settings/" + page }

// TestTeamGrants: in organization acme with base permission none, team
// writers is granted push and team readers pull on the private acme/app.
// A writer pushes; a reader clones but is refused the push with the
// permission message; an outsider is told the repository does not exist;
// and once the writer is removed from the team, the very next git request
// is refused.
func TestTeamGrants(t *testing.T) {
	s := testenv.Start(t, testenv.Options{TLS: true})
	alicePW := s.CreateUser("alice", false)
	for _, u := range []string{"bob", "carol", "dave"} {
		s.CreateUser(u, false)
	}
	s.Admin("org", "create", "acme", "--owner", "alice", "--name", "Acme")
	s.Admin("org", "member", "add", "acme", "bob")
	s.Admin("org", "member", "add", "acme", "carol")
	s.Admin("repo", "create", "acme/app", "--private")
	g := testenv.NewGit(t, s.CAFile)

	alice := signIn(t, s, "alice", alicePW)
	alice.post(orgSettings("member-privileges"), orgSettings("member-privileges"), url.Values{"base_permission": {"none"}})
	for team, member := range map[string]string{"writers": "bob", "readers": "carol"} {
		alice.post(orgSettings("teams"), orgSettings("teams"), url.Values{"name": {team}, "privacy": {"closed"}})
		alice.post(orgSettings("teams/"+team), orgSettings("teams/"+team+"/members"), url.Values{"login": {member}, "role": {"member"}})
	}
	alice.post(orgSettings("teams/writers"), orgSettings("teams/writers/repos"), url.Values{"repo": {"app"}, "permission": {"push"}})
	alice.post(orgSettings("teams/readers"), orgSettings("teams/readers/repos"), url.Values{"repo": {"app"}, "permission": {"pull"}})

	// The owner seeds the repository.
	first := seedAs(t, s, g, "acme/app", "alice", s.Token("alice", "owner", "repo", ""))

	t.Log("a member of a team granted push clones and pushes")
	bobTok := s.Token("bob", "laptop", "repo", "")
	bobURL := testenv.WithCredentials(s.RepoURL("acme/app"), "bob", bobTok)
	bobDir := filepath.Join(t.TempDir(), "bob")
	g.MustRun("", "clone", "-q", bobURL, bobDir)
	if got := strings.TrimSpace(g.MustRun(bobDir, "rev-parse", "HEAD")); got != first {
		t.Fatalf("bob cloned %s, want %s", got, first)
	}
	commit(t, g, bobDir, "bob.txt")
	g.MustRun(bobDir, "push", "-q", "origin", "main")

	t.Log("a member of a team granted pull clones, and is refused the push")
	carolTok := s.Token("carol", "laptop", "repo", "")
	carolDir := filepath.Join(t.TempDir(), "carol")
	g.MustRun("", "clone", "-q", testenv.WithCredentials(s.RepoURL("acme/app"), "carol", carolTok), carolDir)
	commit(t, g, carolDir, "carol.txt")
	mustFail(t, g.Run(carolDir, "push", "origin", "main"), "Permission to acme/app.git denied to carol.", "403")

	t.Log("someone outside the organization is told it does not exist")
	daveTok := s.Token("dave", "laptop", "repo", "")
	mustFail(t, g.Run("", "ls-remote", testenv.WithCredentials(s.RepoURL("acme/app"), "dave", daveTok)), "Repository not found.")

	t.Log("removed from the team, bob is refused on the next request")
	g.MustRun(bobDir, "ls-remote", "origin") // bob's credentials are in use right up to the removal
	alice.post(orgSettings("teams/writers"), orgSettings("teams/writers/members/bob/remove"), url.Values{})
	commit(t, g, bobDir, "after.txt")
	mustFail(t, g.Run(bobDir, "push", "origin", "main"), "Repository not found.")
	mustFail(t, g.Run(bobDir, "ls-remote", "origin"), "Repository not found.")

	t.Log("with the base permission back to read, bob clones again but cannot push")
	alice.post(orgSettings("member-privileges"), orgSettings("member-privileges"), url.Values{"base_permission": {"read"}})
	g.MustRun(bobDir, "fetch", "-q", "origin")
	mustFail(t, g.Run(bobDir, "push", "origin", "main"), "Permission to acme/app.git denied to bob.", "403")
}

// seedAs pushes one commit to the empty repository full as user with tok
// and returns its hash.
func seedAs(t *testing.T, s *testenv.Server, g *testenv.Git, full, user, tok string) string {
	t.Helper()
	dir := t.TempDir()
	g.MustRun(dir, "init", "-q", "-b", "main")
	commit(t, g, dir, "README.md")
	g.MustRun(dir, "push", "-q", testenv.WithCredentials(s.RepoURL(full), user, tok), "main")
	return strings.TrimSpace(g.MustRun(dir, "rev-parse", "HEAD"))
}

// commit adds a file named name and commits it.
func commit(t *testing.T, g *testenv.Git, dir, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.MustRun(dir, "add", ".")
	g.MustRun(dir, "commit", "-q", "-m", "add "+name)
}
