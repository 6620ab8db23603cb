package git_test

import (
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	_ "modernc.org/sqlite"
)

func TestExpiredTokenRefused(t *testing.T) {
	s, g := setup(t, true)
	tok := s.Token("alice", "short-lived", "repo", "7d")
	// Time cannot be moved forward for a real process, so move the
	// token's expiry back: the database is the server's only source.
	db, err := sql.Open("sqlite", filepath.Join(s.Data, "gatehouse.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	past := time.Now().Add(-time.Minute).UnixMilli()
	if _, err := db.Exec(`UPDATE tokens SET expires_at = $1 WHERE note = 'short-lived'`, past); err != nil {
		t.Fatal(err)
	}
	expired := g.Run("", "ls-remote", testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", tok))
	mustFail(t, expired, "remote: Invalid username or token", "Authentication failed")

	// Exactly the answer an unknown token gets.
	unknown := g.Run("", "ls-remote", testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", s.Token("alice", "other", "repo", "")[:4]+strings.Repeat("0", 36)))
	if clean(expired.Stderr) != clean(unknown.Stderr) {
		t.Errorf("expired and unknown tokens answer differently:\n%s\n---\n%s", expired.Stderr, unknown.Stderr)
	}
}

// clean drops the port-bearing URL git repeats, keeping the server's words.
func clean(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "remote:") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func TestRevokeWhileServing(t *testing.T) {
	s, g := setup(t, true)
	tok := s.Token("alice", "to revoke", "repo", "")
	seed(t, s, g, "alice/secret", tok)
	url := testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", tok)
	g.MustRun("", "ls-remote", url) // now cached by the server

	id := tokenID(t, s, "to revoke")
	s.Admin("token", "revoke", strconv.FormatInt(id, 10))
	revoked := time.Now()
	waitRefused(t, s, "alice/secret", tok)
	took := time.Since(revoked)
	t.Logf("revocation took effect on the running server after %v", took)
	if took > time.Second {
		t.Errorf("revocation took %v, want within 1s", took)
	}
	mustFail(t, g.Run("", "ls-remote", url), "remote: Invalid username or token", "Authentication failed")
}

// waitRefused probes the request git starts with, every 20 ms, until the
// server answers 401 for tok, and fails the test after 3 s.
func waitRefused(t *testing.T, s *testenv.Server, repo, tok string) {
	t.Helper()
	client := s.Client(t)
	deadline := time.Now().Add(3 * time.Second)
	for {
		req, _ := http.NewRequest("GET", s.RepoURL(repo)+"/info/refs?service=git-upload-pack", nil)
		req.SetBasicAuth("alice", tok)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("revoked token still works 3s after 'admin token revoke'")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tokenID finds a token's id by note through "admin token list --json".
func tokenID(t *testing.T, s *testenv.Server, note string) int64 {
	t.Helper()
	out := s.Admin("token", "list", "--json")
	var rows []struct {
		ID   int64  `json:"id"`
		Note string `json:"note"`
	}
	if err := jsonUnmarshal(out, &rows); err != nil {
		t.Fatalf("token list --json: %v\n%s", err, out)
	}
	for _, r := range rows {
		if r.Note == note {
			return r.ID
		}
	}
	t.Fatalf("no token with note %q in\n%s", note, out)
	return 0
}

func TestCredentialHelperStoreAndErase(t *testing.T) {
	s, g := setup(t, true)
	tok := s.Token("alice", "helper", "repo", "")
	seed(t, s, g, "alice/secret", tok)

	// The user is asked once (askpass stands in for the terminal) and the
	// store helper keeps what worked.
	askpass := filepath.Join(g.Home, "askpass.sh")
	script := "#!/bin/sh\ncase \"$1\" in\n  Username*) echo alice ;;\n  Password*) echo '" + tok + "' ;;\nesac\n"
	if err := os.WriteFile(askpass, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	g.MustRun("", "config", "--global", "credential.helper", "store")
	dir := filepath.Join(t.TempDir(), "c")
	r := g.RunEnv("", []string{"GIT_ASKPASS=" + askpass}, "clone", "-q", s.RepoURL("alice/secret"), dir)
	if r.Err != nil {
		t.Fatalf("clone with askpass: %v\n%s", r.Err, r.Stderr)
	}
	store := filepath.Join(g.Home, ".git-credentials")
	b, err := os.ReadFile(store)
	if err != nil || !strings.Contains(string(b), tok) {
		t.Fatalf("the store helper did not keep the token after a successful clone (err %v)", err)
	}
	// From now on no prompt is needed.
	os.Remove(askpass)
	g.MustRun(dir, "fetch", "-q")

	s.Admin("token", "revoke", strconv.FormatInt(tokenID(t, s, "helper"), 10))
	// Wait until the server refuses the token, so that git's fetch meets the
	// refusal on its first request rather than halfway through.
	waitRefused(t, s, "alice/secret", tok)
	mustFail(t, g.Run(dir, "fetch", "-q"), "remote: Invalid username or token", "Authentication failed")
	b, _ = os.ReadFile(store)
	if strings.Contains(string(b), tok) {
		t.Fatalf("git did not erase the refused token from the store helper:\n%s", b)
	}
}

func TestProtocolV2(t *testing.T) {
	s, g := setup(t, true)
	tok := s.Token("alice", "v2", "repo", "")
	seed(t, s, g, "alice/secret", tok)
	url := testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", tok)
	r := g.RunEnv("", []string{"GIT_TRACE_PACKET=1"}, "-c", "protocol.version=2", "clone", "-q", url, filepath.Join(t.TempDir(), "v2"))
	if r.Err != nil {
		t.Fatalf("clone: %v\n%s", r.Err, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "< version 2") || !strings.Contains(r.Stderr, "> command=fetch") {
		t.Fatalf("no protocol v2 exchange in the packet trace:\n%.3000s", r.Stderr)
	}
	// v0 still works when asked for.
	r = g.RunEnv("", []string{"GIT_TRACE_PACKET=1"}, "-c", "protocol.version=0", "ls-remote", url)
	if r.Err != nil || strings.Contains(r.Stderr, "< version 2") || !strings.Contains(r.Stderr, "# service=git-upload-pack") {
		t.Fatalf("v0 ls-remote: %v\n%.3000s", r.Err, r.Stderr)
	}
}

func TestLargeCloneMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPING the 50 MB clone in -short mode")
	}
	s, g := setup(t, true)
	tok := s.Token("alice", "big", "repo", "")
	src := t.TempDir()
	g.MustRun(src, "init", "-q", "-b", "main")
	// 50 MB that zlib cannot shrink, in five files.
	buf := make([]byte, 10<<20)
	for i := 0; i < 5; i++ {
		rand.Read(buf)
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("blob%d.bin", i)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g.MustRun(src, "add", ".")
	g.MustRun(src, "commit", "-q", "-m", "big")
	url := testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", tok)
	g.MustRun(src, "push", "-q", url, "main")

	before := rssKiB(t, s.Pid())
	peak := before
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				if v := rssKiB(t, s.Pid()); v > peak {
					peak = v
				}
			}
		}
	}()
	dst := filepath.Join(t.TempDir(), "big")
	r := g.Run("", "clone", "-q", "--bare", url, dst)
	close(stop)
	<-done
	if r.Err != nil {
		t.Fatalf("clone: %v\n%s", r.Err, r.Stderr)
	}
	var size int64
	filepath.Walk(dst, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			size += fi.Size()
		}
		return nil
	})
	if size < 50<<20 {
		t.Fatalf("cloned only %d bytes", size)
	}
	growth := (peak - before) / 1024
	t.Logf("server RSS %d MiB before, peak %d MiB during a %d MiB clone (growth %d MiB)", before/1024, peak/1024, size>>20, growth)
	if growth >= 50 {
		t.Errorf("server RSS grew by %d MiB during the clone, want < 50 MiB", growth)
	}
}

// rssKiB reads the resident set size of the server process (not of the
// git processes it runs, which are what the clone is expected to cost).
func rssKiB(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			v, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return v
		}
	}
	return 0
}
