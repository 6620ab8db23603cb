package git_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/token"
)

// A push whose new commits hold a live token of this server is refused
// before any ref moves, with a message naming the commit and the path;
// the token is revoked at once.
func TestPushProtectionRejectsLiveToken(t *testing.T) {
	s, g := setup(t, true)
	pusher := s.Token("alice", "pusher", "repo", "")
	first := seed(t, s, g, "alice/secret", pusher)
	leaked := s.Token("alice", "ci deploy", "repo", "")
	leakedURL := testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", leaked)
	g.MustRun("", "ls-remote", leakedURL) // works, and is now cached by the server

	dir := filepath.Join(t.TempDir(), "w")
	g.MustRun("", "clone", "-q", testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", pusher), dir)
	os.MkdirAll(filepath.Join(dir, "deploy"), 0o755)
	os.WriteFile(filepath.Join(dir, "deploy", ".env"), []byte("REGION=eu\nGATEHOUSE_TOKEN="+leaked+"\n"), 0o600)
	g.MustRun(dir, "add", ".")
	g.MustRun(dir, "commit", "-q", "-m", "add deploy settings")
	bad := strings.TrimSpace(g.MustRun(dir, "rev-parse", "HEAD"))

	r := g.Run(dir, "push", "origin", "main")
	mustFail(t, r, "remote: error: push protection", "remote:     commit: "+bad, "deploy/.env (line 2)",
		"…"+token.LastEight(leaked), `"ci deploy" of alice`, "has been revoked", "pre-receive hook declined")
	if strings.Contains(r.Stderr, leaked) || strings.Contains(r.Stderr, leaked[4:len(leaked)-8]) {
		t.Errorf("the rejection shows the token:\n%s", r.Stderr)
	}
	// The ref did not move.
	out := g.MustRun("", "ls-remote", testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", pusher), "refs/heads/main")
	if !strings.HasPrefix(out, first) {
		t.Fatalf("main is %q after the rejected push, want %s", out, first)
	}
	// The leaked token no longer works; the server learns of the
	// revocation made by the hook through the invalidation log.
	waitRefused(t, s, "alice/secret", leaked)
	mustFail(t, g.Run("", "ls-remote", leakedURL), "Authentication failed")
	if list := s.Admin("token", "list", "--user", "alice"); strings.Contains(list, "ci deploy") {
		t.Errorf("the leaked token is still listed:\n%s", list)
	}
	// The owner is told, by e-mail (the outbox, as no SMTP server is set).
	mails, _ := filepath.Glob(filepath.Join(s.Data, "outbox", "*.eml"))
	told := false
	for _, m := range mails {
		b, _ := os.ReadFile(m)
		if strings.Contains(string(b), "To: <alice@example.com>") && strings.Contains(string(b), "found in a push") {
			told = true
		}
		if strings.Contains(string(b), leaked[4:len(leaked)-8]) {
			t.Errorf("the e-mail %s contains the token", m)
		}
	}
	if !told {
		t.Errorf("no e-mail to alice about the leak in the outbox (%d files)", len(mails))
	}

	// Once the token is out of the history, the same branch pushes.
	g.MustRun(dir, "reset", "-q", "--hard", "HEAD~1")
	os.WriteFile(filepath.Join(dir, "deploy.md"), []byte("Read the token from the environment.\n"), 0o644)
	g.MustRun(dir, "add", ".")
	g.MustRun(dir, "commit", "-q", "-m", "document deploy")
	g.MustRun(dir, "push", "-q", "origin", "main")
}

// A token in a commit message is found too.
func TestPushProtectionCommitMessage(t *testing.T) {
	s, g := setup(t, false)
	pusher := s.Token("alice", "pusher", "repo", "")
	seed(t, s, g, "alice/open", pusher)
	leaked := s.Token("alice", "in message", "", "7d")

	dir := filepath.Join(t.TempDir(), "w")
	g.MustRun("", "clone", "-q", testenv.WithCredentials(s.RepoURL("alice/open"), "alice", pusher), dir)
	g.MustRun(dir, "commit", "-q", "--allow-empty", "-m", "try with "+leaked)
	mustFail(t, g.Run(dir, "push", "origin", "HEAD:refs/heads/feature"), "in the commit message", "…"+token.LastEight(leaked))
	waitRefused(t, s, "alice/open", leaked)
}

// Strings that only look like tokens (a valid checksum, but no such token
// here) do not stop a push.
func TestPushProtectionIgnoresUnknownTokens(t *testing.T) {
	s, g := setup(t, true)
	pusher := s.Token("alice", "pusher", "repo", "")
	seed(t, s, g, "alice/secret", pusher)
	revoked := s.Token("alice", "old", "repo", "")
	s.Admin("token", "revoke", fmt.Sprint(tokenID(t, s, "old")))
	random, _ := token.Generate("gtp_")
	other, _ := token.Generate("ghp_")
	s.AddSecret(random) // the log must not show these either
	s.AddSecret(other)

	dir := filepath.Join(t.TempDir(), "w")
	g.MustRun("", "clone", "-q", testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", pusher), dir)
	os.WriteFile(filepath.Join(dir, "fixtures.txt"), []byte(random+"\n"+other+"\n"+revoked+"\n"), 0o644)
	g.MustRun(dir, "add", ".")
	g.MustRun(dir, "commit", "-q", "-m", "test fixtures")
	r := g.Run(dir, "push", "origin", "main")
	if r.Err != nil {
		t.Fatalf("push with unknown token-shaped strings refused: %v\n%s", r.Err, r.Stderr)
	}
	if strings.Contains(r.Stderr, "push protection") {
		t.Errorf("push output mentions push protection:\n%s", r.Stderr)
	}
}

// TestPushProtectionOverhead pushes a few hundred files, the first push
// of a repository, and reports how long the pushes take; the hook runs on
// each. Timed assertions do not belong in tests: this only logs.
func TestPushProtectionOverhead(t *testing.T) {
	s, g := setup(t, false)
	pusher := s.Token("alice", "pusher", "repo", "")
	dir := filepath.Join(t.TempDir(), "w")
	g.MustRun("", "init", "-q", "-b", "main", dir)
	for i := range 300 {
		sub := filepath.Join(dir, fmt.Sprintf("pkg%02d", i%20))
		os.MkdirAll(sub, 0o755)
		body := strings.Repeat(fmt.Sprintf("func handle_request_%d(user_id int) error { return lookup_table[user_id] }\n", i), 60)
		os.WriteFile(filepath.Join(sub, fmt.Sprintf("file%03d.go", i)), []byte(body), 0o644)
	}
	g.MustRun(dir, "add", ".")
	g.MustRun(dir, "commit", "-q", "-m", "import")
	url := testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", pusher)
	start := time.Now()
	g.MustRun(dir, "push", "-q", url, "main")
	t.Logf("first push of 300 files (%d KiB): %v", 300*60*75/1024, time.Since(start))
	for i := range 5 {
		os.WriteFile(filepath.Join(dir, "pkg00", "file000.go"), []byte(fmt.Sprintf("package x // %d\n", i)), 0o644)
		g.MustRun(dir, "commit", "-q", "-a", "-m", "small change")
		start = time.Now()
		g.MustRun(dir, "push", "-q", url, "main")
		t.Logf("push of one changed file: %v", time.Since(start))
	}
}

// A live token as a branch name or a file name is refused too: both are
// shown to everyone who can read the repository.
func TestPushProtectionNames(t *testing.T) {
	s, g := setup(t, true)
	pusher := s.Token("alice", "pusher", "repo", "")
	seed(t, s, g, "alice/secret", pusher)
	dir := filepath.Join(t.TempDir(), "w")
	g.MustRun("", "clone", "-q", testenv.WithCredentials(s.RepoURL("alice/secret"), "alice", pusher), dir)

	asRef := s.Token("alice", "as ref", "repo", "")
	r := g.Run(dir, "push", "origin", "HEAD:refs/heads/"+asRef)
	mustFail(t, r, "remote: error: push protection", "the name of ref", "…"+token.LastEight(asRef))
	// git itself echoes the ref it tried to push; the server's lines must not.
	if strings.Contains(clean(r.Stderr), asRef[4:len(asRef)-8]) {
		t.Errorf("the server's message shows the token:\n%s", r.Stderr)
	}

	asName := s.Token("alice", "as file name", "repo", "")
	os.MkdirAll(filepath.Join(dir, "keys"), 0o755)
	os.WriteFile(filepath.Join(dir, "keys", asName), []byte("x\n"), 0o644)
	g.MustRun(dir, "add", ".")
	g.MustRun(dir, "commit", "-q", "-m", "add a key file")
	mustFail(t, g.Run(dir, "push", "origin", "main"), "remote: error: push protection", "the file or directory name keys/<token …"+token.LastEight(asName)+">")
	waitRefused(t, s, "alice/secret", asRef)
	waitRefused(t, s, "alice/secret", asName)
}
