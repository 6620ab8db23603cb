package api_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// seedRepo pushes a README to the empty repository full with tok, as
// user, with real git.
func seedRepo(t *testing.T, s *server, user, tok, full string) {
	t.Helper()
	g := testenv.NewGit(t, s.CAFile)
	work := filepath.Join(t.TempDir(), "seed")
	g.MustRun("", "init", "-q", "-b", "main", work)
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("# "+full+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.MustRun(work, "add", "-A")
	g.MustRun(work, "commit", "-q", "-m", "Start")
	g.MustRun(work, "push", "-q", testenv.WithCredentials(s.URL+"/"+full+".git", user, tok), "main")
}

// TestGHFineGrained logs the GitHub CLI in with fine-grained tokens: gh
// checks a token's scopes only when X-OAuth-Scopes is there, which the
// server leaves out for fine-grained tokens, so neither "gh auth login"
// nor "gh auth status" asks for read:org. gh then clones a selected
// private repository, of alice's own account and of her organization,
// and is told that one outside the selection does not exist.
func TestGHFineGrained(t *testing.T) {
	gh := testenv.RequireOneOf(t, "gh", "apt-get install -y gh", "gh")
	testenv.RequireOneOf(t, "git", "apt-get install -y git", "git")
	s := startServer(t)
	s.CreateOrg("acme", "alice")
	for _, full := range []string{"alice/secret", "alice/other", "acme/app", "acme/hidden"} {
		s.Admin("repo", "create", full, "--private")
	}
	seed := s.Token("alice", "seed", "repo", "7d")
	for _, full := range []string{"alice/secret", "alice/other", "acme/app", "acme/hidden"} {
		seedRepo(t, s, "alice", seed, full)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	own := s.FineGrainedToken("alice", "gh own", "", "secret", "contents:read", "30d")
	// The premise: no X-OAuth-Scopes for a fine-grained token, and the
	// permissions the route accepts instead.
	code, h, body := call(t, s.Client(t), "GET", s.URL+"/api/v3/", own, "")
	if code != 200 {
		t.Fatalf("GET /api/v3/ with a fine-grained token: %d %s", code, body)
	}
	if _, ok := h["X-Oauth-Scopes"]; ok {
		t.Errorf("GET /api/v3/ answers a fine-grained token with X-OAuth-Scopes %q", h.Get("X-OAuth-Scopes"))
	}

	alice := newGH(t, ctx, s, gh, own)
	out := alice.run("auth", "status", "--hostname", s.host)
	t.Logf("gh auth status with a fine-grained token:\n%s", out)
	if !strings.Contains(out, "Logged in to "+s.host+" as alice") || strings.Contains(out, "missing required scope") {
		t.Errorf("auth status with a fine-grained token:\n%s", out)
	}
	alice.run("repo", "clone", "alice/secret")
	if b, err := os.ReadFile(filepath.Join(alice.work, "secret", "README.md")); err != nil || string(b) != "# alice/secret\n" {
		t.Errorf("gh repo clone alice/secret: README %q, %v", b, err)
	}
	if out := alice.fail("repo", "clone", "alice/other"); !strings.Contains(out, "Could not resolve to a Repository with the name 'alice/other'.") {
		t.Errorf("gh repo clone of a repository outside the selection:\n%s", out)
	}

	// A token for the organization alice owns is approved at once.
	org := newGH(t, ctx, s, gh, s.FineGrainedToken("alice", "gh acme", "acme", "app", "contents:read", "30d"))
	if out := org.run("auth", "status", "--hostname", s.host); !strings.Contains(out, "Logged in to "+s.host+" as alice") {
		t.Errorf("auth status with a token for acme:\n%s", out)
	}
	org.run("repo", "clone", "acme/app")
	if b, err := os.ReadFile(filepath.Join(org.work, "app", "README.md")); err != nil || string(b) != "# acme/app\n" {
		t.Errorf("gh repo clone acme/app: README %q, %v", b, err)
	}
	if out := org.fail("repo", "clone", "acme/hidden"); !strings.Contains(out, "Could not resolve to a Repository with the name 'acme/hidden'.") {
		t.Errorf("gh repo clone of acme/hidden, outside the selection:\n%s", out)
	}
	// alice's own private repositories are out of reach of a token for acme.
	if out := org.fail("repo", "clone", "alice/secret"); !strings.Contains(out, "Could not resolve to a Repository with the name 'alice/secret'.") {
		t.Errorf("gh repo clone of alice/secret with a token for acme:\n%s", out)
	}
}
