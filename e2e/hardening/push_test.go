package hardening_test

import (
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestPushedObjectsAreChecked is the regression for pushes stored without
// fsck: a tree with a ".git" or ".." entry (which GitHub refuses, and
// which can hurt whoever checks it out) was accepted.
func TestPushedObjectsAreChecked(t *testing.T) {
	s := testenv.Start(t, testenv.Options{})
	s.CreateUser("alice", false)
	s.Admin("repo", "create", "alice/x")
	tok := s.Token("alice", "fsck", "repo", "never")
	g := testenv.NewGit(t, "")
	g.UseCredentialHelper()
	for _, name := range []string{".git", ".."} {
		dir := t.TempDir()
		g.MustRun(dir, "init", "-q")
		// A blob, then a tree naming it with the hostile name, written
		// with --literally so that the client's own checks let it through.
		b := strings.TrimSpace(g.MustRun(dir, "hash-object", "-w", "/dev/null"))
		treeFile := filepath.Join(t.TempDir(), "tree")
		raw := append([]byte("100644 "+name+"\x00"), hexBytes(t, b)...)
		if err := os.WriteFile(treeFile, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		tree := strings.TrimSpace(g.MustRun(dir, "hash-object", "-w", "-t", "tree", "--literally", treeFile))
		commit := strings.TrimSpace(g.MustRun(dir, "commit-tree", tree, "-m", "hostile "+name))
		r := g.RunAs(dir, "alice", tok, "push", s.RepoURL("alice/x"), commit+":refs/heads/evil")
		if r.Err == nil {
			t.Fatalf("a tree with a %q entry was accepted:\n%s", name, r.Stderr)
		}
		if !strings.Contains(r.Stderr, "fsck") && !strings.Contains(strings.ToLower(r.Stderr), "dot") {
			t.Errorf("the refusal of %q does not say why:\n%s", name, r.Stderr)
		}
	}
	if out := g.MustRun("", "ls-remote", testenv.WithCredentials(s.RepoURL("alice/x"), "alice", tok)); strings.Contains(out, "evil") {
		t.Fatalf("a refused push moved a ref:\n%s", out)
	}
}

func hexBytes(t *testing.T, h string) []byte {
	t.Helper()
	out := make([]byte, len(h)/2)
	for i := range out {
		var v byte
		for _, c := range h[2*i : 2*i+2] {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= byte(c - '0')
			case c >= 'a' && c <= 'f':
				v |= byte(c-'a') + 10
			default:
				t.Fatalf("not hex: %q", h)
			}
		}
		out[i] = v
	}
	return out
}

// TestPushSizeLimit checks --max-push-size: a push whose pack is larger
// is refused with git's message, and nothing is stored.
func TestPushSizeLimit(t *testing.T) {
	s := testenv.Start(t, testenv.Options{Args: []string{"--max-push-size", "1"}})
	s.CreateUser("alice", false)
	s.Admin("repo", "create", "alice/x")
	tok := s.Token("alice", "size", "repo", "never")
	g := testenv.NewGit(t, "")
	g.UseCredentialHelper()
	dir := t.TempDir()
	g.MustRun(dir, "init", "-q")
	big := make([]byte, 3<<20) // random: does not compress
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	g.MustRun(dir, "add", ".")
	g.MustRun(dir, "commit", "-q", "-m", "big")
	r := g.RunAs(dir, "alice", tok, "push", s.RepoURL("alice/x"), "HEAD:refs/heads/main")
	if r.Err == nil || !strings.Contains(r.Stderr, "maximum allowed size") {
		t.Fatalf("a 3 MiB push under a 1 MiB limit: %v\n%s", r.Err, r.Stderr)
	}
	small := t.TempDir()
	g.MustRun(small, "init", "-q")
	os.WriteFile(filepath.Join(small, "a.txt"), []byte("small\n"), 0o600)
	g.MustRun(small, "add", ".")
	g.MustRun(small, "commit", "-q", "-m", "small")
	g.MustRunAs(small, "alice", tok, "push", s.RepoURL("alice/x"), "HEAD:refs/heads/main")
}

// TestMetricsAccess is the regression for /metrics being open to anyone:
// by default only clients on the server's machine read it; --metrics off
// turns it off.
func TestMetricsAccess(t *testing.T) {
	s := testenv.Start(t, testenv.Options{Args: []string{"--trusted-proxy", "127.0.0.1"}})
	get := func(base, forwardedFor string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/metrics", nil)
		if forwardedFor != "" {
			req.Header.Set("X-Forwarded-For", forwardedFor)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(s.URL, ""); code != http.StatusOK {
		t.Errorf("/metrics from loopback: %d", code)
	}
	if code := get(s.URL, "203.0.113.5"); code != http.StatusNotFound {
		t.Errorf("/metrics for a remote client through the proxy: %d, want 404", code)
	}
	off := testenv.Start(t, testenv.Options{Args: []string{"--metrics", "off"}})
	if code := get(off.URL, ""); code != http.StatusNotFound {
		t.Errorf("/metrics with --metrics off: %d, want 404", code)
	}
}
