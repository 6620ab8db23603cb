package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestBackupWhilePushing backs up a server while pushes keep landing, then
// restores into a new data dir and checks that the restored server has the
// same users and tokens and a complete repository.
func TestBackupWhilePushing(t *testing.T) {
	s := testenv.Start(t, testenv.Options{})
	s.CreateUser("alice", false)
	tok := s.Token("alice", "backup-test", "repo", "never")
	s.Admin("repo", "create", "alice/demo", "--private")

	g := testenv.NewGit(t, "")
	g.UseCredentialHelper()
	work := filepath.Join(t.TempDir(), "work")
	g.MustRunAs("", "alice", tok, "clone", "--quiet", s.RepoURL("alice/demo"), work)

	var (
		mu     sync.Mutex
		pushed = map[string]bool{}
	)
	commit := func(i int) string {
		if err := os.WriteFile(filepath.Join(work, "file.txt"), []byte(fmt.Sprintf("change %d\n", i)), 0o644); err != nil {
			t.Error(err)
			return ""
		}
		if r := g.Run(work, "add", "file.txt"); r.Err != nil {
			t.Errorf("git add: %v %s", r.Err, r.Stderr)
			return ""
		}
		if r := g.Run(work, "commit", "--quiet", "-m", fmt.Sprintf("change %d", i)); r.Err != nil {
			t.Errorf("git commit: %v %s", r.Err, r.Stderr)
			return ""
		}
		if r := g.RunAs(work, "alice", tok, "push", "--quiet", "origin", "HEAD:refs/heads/main"); r.Err != nil {
			t.Errorf("git push: %v %s", r.Err, r.Stderr)
			return ""
		}
		sha := strings.TrimSpace(g.MustRun(work, "rev-parse", "HEAD"))
		mu.Lock()
		pushed[sha] = true
		mu.Unlock()
		return sha
	}
	for i := range 3 {
		commit(i)
	}

	// Keep pushing until the backup has finished, and make sure some
	// pushes overlap it.
	stop := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 3; ; i++ {
			if commit(i) == "" {
				return
			}
			if i == 4 {
				close(started)
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	})
	<-started
	file := filepath.Join(t.TempDir(), "gatehouse-backup.tar.gz")
	cmd := testenv.Command(t, "backup", file, "--data", s.Data)
	out, err := cmd.CombinedOutput()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if strings.Contains(string(out), tok) {
		t.Fatal("backup printed the token")
	}
	before := tokenListing(t, s.Data)
	s.Stop()

	data := filepath.Join(t.TempDir(), "restored")
	cmd = testenv.Command(t, "restore", file, "--data", data)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if after := tokenListing(t, data); after != before {
		t.Fatalf("token listing differs after restore:\nbefore %s\nafter  %s", before, after)
	}

	s2 := testenv.Start(t, testenv.Options{Data: data})
	s2.AddSecret(tok)
	clone := filepath.Join(t.TempDir(), "clone")
	g.MustRunAs("", "alice", tok, "clone", "--quiet", s2.RepoURL("alice/demo"), clone)
	head := strings.TrimSpace(g.MustRun(clone, "rev-parse", "HEAD"))
	mu.Lock()
	ok := pushed[head]
	mu.Unlock()
	if !ok {
		t.Fatalf("restored HEAD %s is not one of the pushed commits", head)
	}
	g.MustRun(clone, "fsck", "--strict", "--no-progress")
	// The same token still authenticates, and the repository stays private.
	if r := g.Run("", "ls-remote", s2.RepoURL("alice/demo")); r.Err == nil {
		t.Fatal("anonymous ls-remote of the private repository succeeded after restore")
	}
}

// tokenListing returns the stable fields of "admin token list --json":
// last_used_at moves with every push and is left out.
func tokenListing(t *testing.T, data string) string {
	t.Helper()
	out, errOut, code := run(t, data, "", "admin", "token", "list", "--json")
	if code != 0 {
		t.Fatalf("token list: exit %d: %s", code, errOut)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		delete(r, "last_used_at")
	}
	b, _ := json.Marshal(rows)
	return string(b)
}

func TestRestoreRefusals(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, data, "", "restore", filepath.Join(dir, "none.tar.gz"))
	if code != 1 || !strings.Contains(errOut, "not empty") {
		t.Fatalf("restore into a non-empty dir: exit %d, %q", code, errOut)
	}
	if _, _, code := run(t, data, "", "restore"); code != 2 {
		t.Fatalf("restore without FILE: exit %d, want 2", code)
	}
}
