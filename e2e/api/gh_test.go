package api_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestGH runs the GitHub CLI through every step a user takes with a
// GitHub Enterprise Server host: log in with a token, check the status,
// call the API, create, view and clone a private repository, let gh
// configure git, and push. Every step must exit 0 and the pushed commit
// must be in the repository.
func TestGH(t *testing.T) {
	gh := testenv.RequireOneOf(t, "gh", "apt-get install -y gh", "gh")
	git := testenv.RequireOneOf(t, "git", "apt-get install -y git", "git")
	s := startServer(t)
	tok := s.Token("alice", "gh", "repo,read:org,workflow", "30d")

	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	work := filepath.Join(tmp, "work")
	for _, d := range []string{home, work} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	env := baseEnv(
		"HOME="+home,
		"GH_CONFIG_DIR="+filepath.Join(tmp, "gh"),
		"SSL_CERT_FILE="+s.CAFile,
		"GIT_SSL_CAINFO="+s.CAFile,
		"GH_NO_UPDATE_NOTIFIER=1", "GH_PROMPT_DISABLED=1", "NO_COLOR=1",
		"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Alice", "GIT_AUTHOR_EMAIL=alice@example.com",
		"GIT_COMMITTER_NAME=Alice", "GIT_COMMITTER_EMAIL=alice@example.com",
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ghRun := func(stdin string, args ...string) string {
		t.Helper()
		return run(t, ctx, work, env, stdin, gh, args...)
	}

	// gh refuses host:port in --hostname, so the host comes from GH_HOST.
	loginEnv := append(append([]string{}, env...), "GH_HOST="+s.host)
	run(t, ctx, work, loginEnv, tok+"\n", gh, "auth", "login", "--with-token")

	out := ghRun("", "auth", "status", "--hostname", s.host)
	if !strings.Contains(out, "Logged in to "+s.host+" as alice") || !strings.Contains(out, "read:org, repo, workflow") {
		t.Errorf("auth status:\n%s", out)
	}
	if out := ghRun("", "api", "/user", "--jq", ".login"); strings.TrimSpace(out) != "alice" {
		t.Errorf("api /user: %q", out)
	}
	if out := ghRun("", "repo", "create", "demo", "--private"); !strings.Contains(out, "/alice/demo") {
		t.Errorf("repo create: %q", out)
	}
	out = ghRun("", "repo", "view", "alice/demo")
	if !strings.Contains(out, "name:\talice/demo") {
		t.Errorf("repo view:\n%s", out)
	}
	if out := ghRun("", "api", "user/repos", "--jq", ".[].full_name"); !strings.Contains(out, "alice/demo") {
		t.Errorf("api user/repos: %q", out)
	}
	if out := ghRun("", "api", "repos/alice/demo", "--jq", ".private"); strings.TrimSpace(out) != "true" {
		t.Errorf("repo is not private: %q", out)
	}
	ghRun("", "repo", "clone", "alice/demo")
	clone := filepath.Join(work, "demo")
	ghRun("", "auth", "setup-git", "--hostname", s.host)

	gitRun := func(args ...string) string {
		t.Helper()
		return run(t, ctx, clone, env, "", git, args...)
	}
	if err := os.WriteFile(filepath.Join(clone, "hello.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun("add", "hello.txt")
	gitRun("commit", "-q", "-m", "first")
	head := strings.TrimSpace(gitRun("rev-parse", "HEAD"))
	gitRun("push", "-q", "origin", "HEAD:main")

	// The pushed commit is in the repository, as another clone sees it.
	remote := gitRun("ls-remote", "origin", "refs/heads/main")
	if !strings.HasPrefix(remote, head) {
		t.Fatalf("ls-remote after push: %q, want %s", remote, head)
	}
	// And gh now sees a repository with a default branch.
	if out := ghRun("", "api", "repos/alice/demo", "--jq", ".pushed_at"); strings.TrimSpace(out) == "null" {
		t.Errorf("pushed_at still null after the push")
	}

	// A create with a README goes through REST with auto_init, and the
	// README is served back to gh repo view.
	ghRun("", "repo", "create", "withreadme", "--private", "--add-readme", "--description", "has a readme")
	if out := ghRun("", "repo", "view", "alice/withreadme"); !strings.Contains(out, "# withreadme") {
		t.Errorf("repo view with README:\n%s", out)
	}
	// A missing repository is an error with GitHub's message.
	cmd := exec.CommandContext(ctx, gh, "repo", "view", "alice/nope")
	cmd.Env, cmd.Dir = env, work
	out2, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out2), "Could not resolve to a Repository with the name 'alice/nope'.") {
		t.Errorf("view of a missing repository: %v\n%s", err, out2)
	}
}
