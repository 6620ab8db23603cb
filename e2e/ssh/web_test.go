package ssh_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// webUser is a signed-in browser without JavaScript: a cookie jar that
// posts the forms of the pages it reads.
type webUser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

var formTokenRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signIn signs login in with password, in sudo mode.
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

// post sends form to path with the form token of the page at from and
// wants the redirect that follows a change.
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

var (
	sshCloneRe   = regexp.MustCompile(`id="clone-ssh" class="mono" value="([^"]+)"`)
	keyDeleteRe  = regexp.MustCompile(`href="/settings/keys/(\d+)/delete"`)
	deployKeysRe = regexp.MustCompile(`href="/alice/secret/settings/keys/(\d+)/delete"`)
)

// TestKeysThroughTheWeb: keys added with the web forms work with the real
// OpenSSH client and git, with the SSH clone URL the repository page
// shows; a read-only deploy key added on the repository's settings page
// clones but cannot push; another user is told the settings page does not
// exist; and a key deleted on the page is refused at once.
func TestKeysThroughTheWeb(t *testing.T) {
	s := testenv.Start(t, testenv.Options{SSH: true})
	if s.SSHAddr == "" {
		t.Fatalf("the server did not say where SSH listens:\n%s", s.Log())
	}
	alicePW := s.CreateUser("alice", false)
	bobPW := s.CreateUser("bob", false)
	s.Admin("repo", "create", "alice/secret", "--private")

	k := newKey(t, "alice@laptop")
	alice := signIn(t, s, "alice", alicePW)
	alice.post("/settings/keys/new", "/settings/keys", url.Values{"title": {"laptop"}, "key": {k.Public}})
	_, list := alice.do("GET", "/settings/keys", nil)
	if fp := strings.ReplaceAll(k.fingerprint(t), "+", "&#43;"); !strings.Contains(list, fp) || !strings.Contains(list, "laptop") {
		t.Fatalf("the key list lacks the key's title or its fingerprint %s:\n%s", fp, list)
	}
	anon := &webUser{t: t, base: s.URL, hc: s.Client(t)}
	if status, body := anon.do("GET", "/alice.keys", nil); status != http.StatusOK || body != strings.Join(strings.Fields(k.Public)[:2], " ")+"\n" {
		t.Errorf("/alice.keys: %d %q", status, body)
	}

	// The repository page: HTTPS first, then SSH, which is the URL git
	// reaches the server at.
	_, page := alice.do("GET", "/alice/secret", nil)
	m := sshCloneRe.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `value="`+s.RepoURL("alice/secret")+`"`) ||
		strings.Index(page, `id="clone-url"`) > strings.Index(page, `id="clone-ssh"`) {
		t.Fatalf("the repository page does not show the HTTPS and then the SSH clone URL:\n%s", page)
	}
	sshURL := m[1]
	if sshURL != s.SSHURL("alice/secret") {
		t.Errorf("SSH clone URL %q, want %q", sshURL, s.SSHURL("alice/secret"))
	}
	c := newClient(t, s, k)
	a := filepath.Join(t.TempDir(), "a")
	c.g.MustRun("", "init", "-q", "-b", "main", a)
	first := commit(t, c, a, "README.md", "# secret\n")
	c.mustGit(a, "push", "-q", sshURL, "main")

	// A read-only deploy key from the repository's settings.
	dk := newKey(t, "ci@runner")
	alice.post("/alice/secret/settings/keys/new", "/alice/secret/settings/keys/new", url.Values{"title": {"ci"}, "key": {dk.Public}})
	_, dlist := alice.do("GET", "/alice/secret/settings/keys", nil)
	if !strings.Contains(dlist, "Read-only") || deployKeysRe.FindStringSubmatch(dlist) == nil {
		t.Fatalf("the deploy key list lacks the read-only key:\n%s", dlist)
	}
	ci := newClient(t, s, dk)
	d := filepath.Join(t.TempDir(), "d")
	ci.mustGit("", "clone", "-q", sshURL, d)
	if got := strings.TrimSpace(ci.g.MustRun(d, "rev-parse", "HEAD")); got != first {
		t.Fatalf("deploy key clone HEAD %s, want %s", got, first)
	}
	commit(t, ci, d, "ci.txt", "ci\n")
	mustFail(t, ci.git(d, "push", "origin", "main"), "The key you are authenticating with has been marked as read only.")

	bob := signIn(t, s, "bob", bobPW)
	if status, _ := bob.do("GET", "/alice/secret/settings/keys", nil); status != http.StatusNotFound {
		t.Errorf("bob's GET of alice/secret's deploy keys: %d, want 404", status)
	}

	// Deleting the key on the page refuses it at once.
	id := keyDeleteRe.FindStringSubmatch(list)
	if id == nil {
		t.Fatalf("no delete link on the key list:\n%s", list)
	}
	alice.post("/settings/keys/"+id[1]+"/delete", "/settings/keys/"+id[1]+"/delete", url.Values{})
	mustFail(t, c.git("", "ls-remote", sshURL), "Permission denied (")
	if _, log := alice.do("GET", "/settings/security-log", nil); !strings.Contains(log, "SSH key added") || !strings.Contains(log, "SSH key deleted") {
		t.Errorf("the security log lacks the key's events:\n%s", log)
	}
}
