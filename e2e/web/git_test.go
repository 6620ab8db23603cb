package web

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitRunner runs real git with a private HOME, no system configuration and
// a credential helper that answers with the token in $E2E_TOKEN, so that
// git goes through its normal 401 → credentials → retry exchange.
type gitRunner struct {
	git    string
	home   string
	helper string
}

func newGit(t *testing.T) *gitRunner {
	t.Helper()
	g := &gitRunner{git: gitPath(t), home: t.TempDir()}
	g.helper = filepath.Join(g.home, "token-helper")
	script := "#!/bin/sh\n" +
		"test \"$1\" = get || exit 0\n" +
		"printf 'username=%s\\npassword=%s\\n' \"$E2E_USER\" \"$E2E_TOKEN\"\n"
	if err := os.WriteFile(g.helper, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return g
}

// run runs git in dir with user/token offered as credentials and returns
// combined output and the error.
func (g *gitRunner) run(dir, user, token string, args ...string) (string, error) {
	full := append([]string{"-c", "credential.helper=", "-c", "credential.helper=" + g.helper,
		"-c", "init.defaultBranch=main", "-c", "user.name=E2E", "-c", "user.email=e2e@example.com"}, args...)
	cmd := exec.Command(g.git, full...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"HOME="+g.home, "XDG_CONFIG_HOME="+g.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=", "SSH_ASKPASS=", "LC_ALL=C", "E2E_USER="+user, "E2E_TOKEN="+token)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mustRun is run that fails the test on error.
func (g *gitRunner) mustRun(t *testing.T, dir, user, token string, args ...string) string {
	t.Helper()
	out, err := g.run(dir, user, token, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}
