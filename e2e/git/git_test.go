// Package git_test drives the built gatehouse binary with real git over
// HTTPS and plain HTTP on loopback: every credential form, every refusal,
// credential helpers, protocol v2, revocation while serving and memory use
// on a large clone.
package git_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/tlsutil"
)

// setup starts a server with alice (owner of private alice/secret and
// public alice/open) and bob, and returns it with a git environment.
func setup(t *testing.T, tls bool) (*testenv.Server, *testenv.Git) {
	t.Helper()
	s := testenv.Start(t, testenv.Options{TLS: tls})
	s.CreateUser("alice", false)
	s.CreateUser("bob", false)
	s.Admin("repo", "create", "alice/secret", "--private")
	s.Admin("repo", "create", "alice/open")
	return s, testenv.NewGit(t, s.CAFile)
}

// seed pushes one commit to repo with tok and returns its hash.
func seed(t *testing.T, s *testenv.Server, g *testenv.Git, full, tok string) string {
	t.Helper()
	dir := t.TempDir()
	g.MustRun(dir, "init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("# "+full+"\n"), 0o644)
	g.MustRun(dir, "add", ".")
	g.MustRun(dir, "commit", "-q", "-m", "first")
	g.MustRun(dir, "push", "-q", testenv.WithCredentials(s.RepoURL(full), "alice", tok), "main")
	return strings.TrimSpace(g.MustRun(dir, "rev-parse", "HEAD"))
}

func mustFail(t *testing.T, r testenv.Result, wants ...string) {
	t.Helper()
	if r.Err == nil {
		t.Fatalf("git succeeded, want failure\n%s%s", r.Stdout, r.Stderr)
	}
	for _, w := range wants {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("git stderr lacks %q:\n%s", w, r.Stderr)
		}
	}
}

func TestCloneFetchPushPrivate(t *testing.T) {
	for _, tls := range []bool{true, false} {
		name := "http"
		if tls {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			s, g := setup(t, tls)
			tok := s.Token("alice", "laptop", "repo", "30d")
			first := seed(t, s, g, "alice/secret", tok)

			url := testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", tok)
			a := filepath.Join(t.TempDir(), "a")
			g.MustRun("", "clone", "-q", url, a)
			if got := strings.TrimSpace(g.MustRun(a, "rev-parse", "HEAD")); got != first {
				t.Fatalf("cloned HEAD %s, want %s", got, first)
			}
			os.WriteFile(filepath.Join(a, "second.txt"), []byte("two\n"), 0o644)
			g.MustRun(a, "add", ".")
			g.MustRun(a, "commit", "-q", "-m", "second")
			g.MustRun(a, "push", "-q", "origin", "main")
			second := strings.TrimSpace(g.MustRun(a, "rev-parse", "HEAD"))

			// A second clone made before the push fetches the new commit; the
			// URL without .git works as well.
			b := filepath.Join(t.TempDir(), "b")
			g.MustRun("", "clone", "-q", strings.TrimSuffix(url, ".git"), b)
			g.MustRun(b, "fetch", "-q", "origin")
			if got := strings.TrimSpace(g.MustRun(b, "rev-parse", "origin/main")); got != second {
				t.Fatalf("fetched %s, want %s", got, second)
			}
		})
	}
}

func TestCredentialForms(t *testing.T) {
	s, g := setup(t, true)
	tok := s.Token("alice", "forms", "repo", "7d")
	seed(t, s, g, "alice/secret", tok)
	repo := s.RepoURL("alice/secret")
	for name, url := range map[string]string{
		"login as username":                testenv.WithCredentials(repo, "alice", tok),
		"any username":                     testenv.WithCredentials(repo, "x-access-token", tok),
		"token as username, empty":         testenv.WithCredentials(repo, tok, ""),
		"token as username, x-oauth-basic": testenv.WithCredentials(repo, tok, "x-oauth-basic"),
	} {
		t.Run(name, func(t *testing.T) {
			out := g.MustRun("", "ls-remote", url)
			if !strings.Contains(out, "refs/heads/main") {
				t.Fatalf("ls-remote output lacks main:\n%s", out)
			}
		})
	}
}

func TestNoScopeToken(t *testing.T) {
	s, g := setup(t, true)
	full := s.Token("alice", "full", "repo", "")
	seed(t, s, g, "alice/secret", full)
	seed(t, s, g, "alice/open", full)
	none := s.Token("alice", "read public", "", "")

	// Public repositories can be cloned...
	dir := filepath.Join(t.TempDir(), "open")
	g.MustRun("", "clone", "-q", testenv.WithCredentials(s.RepoURL("alice/open"), "alice", none), dir)
	// ...but not pushed to,
	os.WriteFile(filepath.Join(dir, "x"), []byte("x"), 0o644)
	g.MustRun(dir, "add", ".")
	g.MustRun(dir, "commit", "-q", "-m", "x")
	mustFail(t, g.Run(dir, "push", "origin", "main"), "Permission to alice/open.git denied to alice", "public_repo", "403")
	// and the owner's own private repository does not exist for it.
	mustFail(t, g.Run("", "ls-remote", testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", none)),
		"remote: Repository not found.", "not found")
}

func TestPublicRepoScopeCanPushPublicOnly(t *testing.T) {
	s, g := setup(t, true)
	full := s.Token("alice", "full", "repo", "")
	seed(t, s, g, "alice/open", full)
	pub := s.Token("alice", "public", "public_repo", "")
	dir := filepath.Join(t.TempDir(), "open")
	g.MustRun("", "clone", "-q", testenv.WithCredentials(s.RepoURL("alice/open"), "alice", pub), dir)
	os.WriteFile(filepath.Join(dir, "y"), []byte("y"), 0o644)
	g.MustRun(dir, "add", ".")
	g.MustRun(dir, "commit", "-q", "-m", "y")
	g.MustRun(dir, "push", "-q", "origin", "main")
	mustFail(t, g.Run("", "ls-remote", testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", pub)), "Repository not found.")
}

func TestAnonymous(t *testing.T) {
	s, g := setup(t, true)
	full := s.Token("alice", "full", "repo", "")
	seed(t, s, g, "alice/open", full)
	seed(t, s, g, "alice/secret", full)
	g.MustRun("", "clone", "-q", s.RepoURL("alice/open"), filepath.Join(t.TempDir(), "anon"))
	// A private or missing repository asks for credentials (git cannot
	// prompt here, so it stops at the username) and the two answers are
	// identical, so nothing tells whether the repository exists.
	var bodies []string
	for _, repo := range []string{"alice/secret", "alice/missing"} {
		mustFail(t, g.Run("", "ls-remote", s.RepoURL(repo)), "could not read Username")
		resp, body := get(t, s, "/"+repo+".git/info/refs?service=git-upload-pack")
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="Gatehouse"` {
			t.Errorf("%s: status %d, WWW-Authenticate %q; want 401 with the Basic challenge", repo, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		bodies = append(bodies, body)
	}
	if bodies[0] != bodies[1] {
		t.Errorf("private and missing repositories answer differently: %q vs %q", bodies[0], bodies[1])
	}
}

// get fetches path from the server without credentials, trusting its CA.
func get(t *testing.T, s *testenv.Server, path string) (*http.Response, string) {
	t.Helper()
	resp, err := s.Client(t).Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestOtherUsersTokenSeesNothing(t *testing.T) {
	s, g := setup(t, true)
	seed(t, s, g, "alice/secret", s.Token("alice", "full", "repo", ""))
	bob := s.Token("bob", "bob", "repo", "")
	for _, repo := range []string{"alice/secret", "alice/missing"} {
		mustFail(t, g.Run("", "ls-remote", testenv.WithCredentials(s.RepoURL(repo), "bob", bob)),
			"remote: Repository not found.", "not found")
	}
}

func TestReadCollaboratorCannotPush(t *testing.T) {
	s, g := setup(t, true)
	seed(t, s, g, "alice/secret", s.Token("alice", "full", "repo", ""))
	s.Admin("repo", "collaborator", "alice/secret", "bob", "--permission", "read")
	bob := s.Token("bob", "bob", "repo", "")
	dir := filepath.Join(t.TempDir(), "c")
	g.MustRun("", "clone", "-q", testenv.WithCredentials(s.RepoURL("alice/secret"), "bob", bob), dir)
	os.WriteFile(filepath.Join(dir, "z"), []byte("z"), 0o644)
	g.MustRun(dir, "add", ".")
	g.MustRun(dir, "commit", "-q", "-m", "z")
	mustFail(t, g.Run(dir, "push", "origin", "main"), "Permission to alice/secret.git denied to bob.", "403")

	// Promoted to write, the same token pushes.
	s.Admin("repo", "collaborator", "alice/secret", "bob", "--permission", "write")
	g.MustRun(dir, "push", "-q", "origin", "main")
}

func TestPasswordRefused(t *testing.T) {
	s, g := setup(t, true)
	pw := s.CreateUser("carol", false)
	s.Admin("repo", "create", "carol/stuff", "--private")
	r := g.Run("", "ls-remote", testenv.WithCredentials(s.RepoURL("carol/stuff"), "carol", pw))
	mustFail(t, r,
		"remote: Password authentication is not supported for Git operations.",
		"remote: Use a personal access token",
		"Authentication failed")
}

func TestBadTokenRefused(t *testing.T) {
	s, g := setup(t, true)
	tok := s.Token("alice", "real", "repo", "")
	// Same shape, one character changed: the checksum fails.
	bad := tok[:10] + string(rune('A'+(tok[10]-'A'+1)%26)) + tok[11:]
	if bad == tok {
		t.Fatal("mutation did not change the token")
	}
	r := g.Run("", "ls-remote", testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", bad))
	mustFail(t, r, "remote: Invalid username or token", "Authentication failed")
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// An operator's own certificate and key (--tls-cert/--tls-key).
func TestOwnCertificate(t *testing.T) {
	dir := t.TempDir()
	ss, err := tlsutil.EnsureSelfSigned(dir, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := testenv.Start(t, testenv.Options{Args: []string{"--tls-cert", ss.CertFile, "--tls-key", ss.KeyFile}})
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatalf("server URL %s, want https", s.URL)
	}
	s.CreateUser("alice", false)
	s.Admin("repo", "create", "alice/secret", "--private")
	tok := s.Token("alice", "t", "repo", "")
	g := testenv.NewGit(t, ss.CAFile)
	g.MustRun("", "ls-remote", testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", tok))
	// Without trusting the CA, git refuses the connection.
	plain := testenv.NewGit(t, "")
	mustFail(t, plain.Run("", "ls-remote", s.RepoURL("alice/secret")), "certificate")
}

func newRequest(method, url, body string) (*http.Request, error) {
	return http.NewRequest(method, url, strings.NewReader(body))
}
