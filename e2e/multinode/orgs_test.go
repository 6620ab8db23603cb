package multinode_test

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

// member creates a user through the command line and returns the random
// password it printed, which neither node may log.
func (c *cluster) member(login string) string {
	c.t.Helper()
	return c.secret(strings.TrimSpace(c.admin("user", "create", "--username", login, "--email", login+"@example.com")))
}

// browser is a person signed in, in sudo mode, to the web UI of one node.
type browser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

var formToken = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func signIn(t *testing.T, node *testenv.Server, login, password string) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := node.Client(t)
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	b := &browser{t: t, base: node.URL, hc: hc}
	b.post("/login", "/login", url.Values{"login": {login}, "password": {password}})
	b.post("/settings/profile", "/sudo", url.Values{"password": {password}, "return_to": {"/"}})
	return b
}

func (b *browser) do(method, path string, form url.Values) (int, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

// post sends form as the page at from would and wants a redirect.
func (b *browser) post(from, path string, form url.Values) {
	b.t.Helper()
	status, page := b.do("GET", from, nil)
	m := formToken.FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		b.t.Fatalf("GET %s: %d, no form:\n%s", from, status, page)
	}
	form.Set("csrf_token", m[1])
	if status, body := b.do("POST", path, form); status != http.StatusSeeOther {
		b.t.Fatalf("POST %s: %d, want a redirect\n%s", path, status, body)
	}
}

const teamPage = "/organizations/acme/settings/teams/writers"

// TestTeamRemovalReachesEveryNode removes a member from the team that
// grants them push through node A's web UI and sends their very next git
// request to node B, which must refuse it at once: grants are read from
// the shared database on every request, never cached per node. Adding
// them back through node B works on node A at once too.
func TestTeamRemovalReachesEveryNode(t *testing.T) {
	c := start(t)
	alicePW := c.member("alice")
	c.member("bob")
	c.admin("org", "create", "acme", "--owner", "alice")
	c.admin("org", "member", "add", "acme", "bob")
	c.admin("repo", "create", "acme/app", "--private")

	alice := signIn(t, c.a, "alice", alicePW)
	alice.post("/organizations/acme/settings/member-privileges", "/organizations/acme/settings/member-privileges", url.Values{"base_permission": {"none"}})
	alice.post("/organizations/acme/settings/teams", "/organizations/acme/settings/teams", url.Values{"name": {"writers"}})
	alice.post(teamPage, teamPage+"/members", url.Values{"login": {"bob"}, "role": {"member"}})
	alice.post(teamPage, teamPage+"/repos", url.Values{"repo": {"app"}, "permission": {"push"}})

	aliceTok, _ := c.token("alice", "owner", "repo")
	bobTok, _ := c.token("bob", "laptop", "repo")
	g := testenv.NewGit(t, "")
	src := t.TempDir()
	g.MustRun(src, "init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(src, "README.md"), []byte("# app\n"), 0o644)
	g.MustRun(src, "add", ".")
	g.MustRun(src, "commit", "-q", "-m", "first")
	g.MustRun(src, "push", "-q", testenv.WithCredentials(c.a.RepoURL("acme/app"), "alice", aliceTok), "main")

	// bob works through node B with the team's grant.
	onB := testenv.WithCredentials(c.b.RepoURL("acme/app"), "bob", bobTok)
	onA := testenv.WithCredentials(c.a.RepoURL("acme/app"), "bob", bobTok)
	clone := filepath.Join(t.TempDir(), "clone")
	g.MustRun("", "clone", "-q", onB, clone)
	os.WriteFile(filepath.Join(clone, "bob.txt"), []byte("bob\n"), 0o644)
	g.MustRun(clone, "add", ".")
	g.MustRun(clone, "commit", "-q", "-m", "bob")
	g.MustRun(clone, "push", "-q", "origin", "main")
	g.MustRun("", "ls-remote", onA)

	// Removed through node A: node B refuses the next request.
	alice.post(teamPage, teamPage+"/members/bob/remove", url.Values{})
	for _, args := range [][]string{{"ls-remote", onB}, {"-C", clone, "push", onB, "main:refs/heads/other"}} {
		r := g.Run("", args...)
		if r.Err == nil || !strings.Contains(r.Stderr, "Repository not found.") {
			t.Errorf("node B right after the removal through node A: git %s: err %v\n%s", args[0], r.Err, r.Stderr)
		}
	}
	if r := g.Run("", "ls-remote", onA); r.Err == nil {
		t.Errorf("node A still serves bob after removing him")
	}

	// Added back through node B: node A lets him push at once.
	aliceB := signIn(t, c.b, "alice", alicePW)
	aliceB.post(teamPage, teamPage+"/members", url.Values{"login": {"bob"}, "role": {"member"}})
	os.WriteFile(filepath.Join(clone, "again.txt"), []byte("again\n"), 0o644)
	g.MustRun(clone, "add", ".")
	g.MustRun(clone, "commit", "-q", "-m", "again")
	g.MustRun(clone, "push", "-q", onA, "main")

	c.a.CheckNoSecrets(t)
	c.b.CheckNoSecrets(t)
}
