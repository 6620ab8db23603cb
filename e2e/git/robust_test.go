package git_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// Concurrent pushes: different branches all land; racing pushes to one
// branch leave it at one of the pushed commits, never corrupted.
func TestConcurrentPushes(t *testing.T) {
	s, g := setup(t, true)
	tok := s.Token("alice", "c", "repo", "")
	seed(t, s, g, "alice/secret", tok)
	url := testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", tok)
	const n = 6
	dirs := make([]string, n)
	heads := make([]string, n)
	for i := range dirs {
		dirs[i] = filepath.Join(t.TempDir(), "c")
		g.MustRun("", "clone", "-q", url, dirs[i])
		os.WriteFile(filepath.Join(dirs[i], fmt.Sprintf("f%d", i)), []byte("x"), 0o644)
		g.MustRun(dirs[i], "add", ".")
		g.MustRun(dirs[i], "commit", "-q", "-m", fmt.Sprint(i))
		heads[i] = strings.TrimSpace(g.MustRun(dirs[i], "rev-parse", "HEAD"))
	}
	var wg sync.WaitGroup
	results := make([]testenv.Result, n)
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = g.Run(dirs[i], "push", "origin", fmt.Sprintf("HEAD:refs/heads/b%d", i))
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.Err != nil {
			t.Errorf("push %d: %v\n%s", i, r.Err, r.Stderr)
		}
	}
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = g.Run(dirs[i], "push", "origin", "HEAD:main")
		}()
	}
	wg.Wait()
	won := 0
	for _, r := range results {
		if r.Err == nil {
			won++
		} else if !strings.Contains(r.Stderr, "rejected") && !strings.Contains(r.Stderr, "failed to update ref") && !strings.Contains(r.Stderr, "cannot lock ref") {
			t.Errorf("a losing push failed unclearly:\n%s", r.Stderr)
		}
	}
	out := g.MustRun("", "ls-remote", url)
	main := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasSuffix(l, "\trefs/heads/main") {
			main = strings.Fields(l)[0]
		}
	}
	found := false
	for _, h := range heads {
		found = found || h == main
	}
	if won < 1 || !found {
		t.Fatalf("%d pushes won; main is %s, not one of the pushed commits", won, main)
	}
	g.MustRun("", "clone", "-q", url, filepath.Join(t.TempDir(), "check"))
}

// Garbage sent as a pack is refused by git and changes nothing.
func TestBadPackRejected(t *testing.T) {
	s, g := setup(t, true)
	tok := s.Token("alice", "p", "repo", "")
	first := seed(t, s, g, "alice/secret", tok)
	zero := strings.Repeat("0", 40)
	cmd := fmt.Sprintf("%s %s refs/heads/main\x00report-status", first, zero[:39]+"1")
	body := fmt.Sprintf("%04x%s0000PACK\x00\x00\x00\x02\x00\x00\x00\x01garbage-garbage", len(cmd)+4, cmd)
	req, _ := newRequest("POST", s.URL+"/alice/secret.git/git-receive-pack", body)
	req.SetBasicAuth("alice", tok)
	req.Header.Set("Content-Type", "application/x-git-receive-pack-request")
	resp, err := s.Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	out := g.MustRun("", "ls-remote", testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", tok))
	if !strings.Contains(out, first+"\trefs/heads/main") {
		t.Fatalf("a bad pack moved main:\n%s", out)
	}
	g.MustRun("", "clone", "-q", testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", tok), filepath.Join(t.TempDir(), "ok"))
}
